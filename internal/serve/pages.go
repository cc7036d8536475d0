package serve

type pages struct{ s *Server }

func newPages(s *Server) (*pages, error) { return &pages{s: s}, nil }

func (p *pages) routes() {}
