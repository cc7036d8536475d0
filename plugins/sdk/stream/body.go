package stream

import "encoding/json"

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

type message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type openAIBody struct {
	Model         string        `json:"model,omitempty"`
	Prompt        *string       `json:"prompt,omitempty"`
	Messages      []message     `json:"messages,omitempty"`
	MaxTokens     int           `json:"max_tokens,omitempty"`
	Stream        bool          `json:"stream"`
	StreamOptions streamOptions `json:"stream_options"`
	Temperature   float64       `json:"temperature"`
	Seed          *int64        `json:"seed,omitempty"`
	IgnoreEOS     bool          `json:"ignore_eos,omitempty"`
}

type tgiParameters struct {
	MaxNewTokens int     `json:"max_new_tokens,omitempty"`
	Details      bool    `json:"details"`
	Seed         *int64  `json:"seed,omitempty"`
	Temperature  float64 `json:"temperature,omitempty"` // TGI rejects 0
}

type tgiBody struct {
	Inputs     string        `json:"inputs"`
	Parameters tgiParameters `json:"parameters"`
}

// encodeBody returns the JSON body of req.
func encodeBody(req Request) ([]byte, error) {
	maxTokens := max(req.MaxTokens, 0)
	switch req.API {
	case TGIGenerate:
		return json.Marshal(tgiBody{
			Inputs: req.Prompt,
			Parameters: tgiParameters{
				MaxNewTokens: maxTokens,
				Details:      true,
				Seed:         req.Seed,
				Temperature:  max(req.Temperature, 0),
			},
		})
	case OpenAIChat:
		return json.Marshal(openAIBody{
			Model:         req.Model,
			Messages:      []message{{Role: "user", Content: req.Prompt}},
			MaxTokens:     maxTokens,
			Stream:        true,
			StreamOptions: streamOptions{IncludeUsage: true},
			Temperature:   req.Temperature,
			Seed:          req.Seed,
			IgnoreEOS:     req.IgnoreEOS,
		})
	default:
		return json.Marshal(openAIBody{
			Model:         req.Model,
			Prompt:        &req.Prompt,
			MaxTokens:     maxTokens,
			Stream:        true,
			StreamOptions: streamOptions{IncludeUsage: true},
			Temperature:   req.Temperature,
			Seed:          req.Seed,
			IgnoreEOS:     req.IgnoreEOS,
		})
	}
}
