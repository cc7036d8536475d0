package sdk

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pluginpb "github.com/llmsweep/llmsweep/plugins/sdk/proto"
)

// ErrInvalid marks an error caused by the request (a config the framework cannot
// launch, an unknown server id); it crosses the wire as InvalidArgument.
var ErrInvalid = errors.New("invalid request")

// ErrNotInstalled is returned by Start when the server's executable is not on
// this machine: retrying cannot help, so a host fails the server group at once.
var ErrNotInstalled = errors.New("not installed")

// GRPCPlugin is the go-plugin glue: the plugin side serves Impl, the host side
// gets a Framework that calls over the connection.
type GRPCPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl Framework
}

// PluginSets are the versioned plugin sets, for plugin.ServeConfig and
// plugin.ClientConfig: one entry per protocol version spoken.
func PluginSets(impl Framework) map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{ProtocolVersion: {PluginName: &GRPCPlugin{Impl: impl}}}
}

func (p *GRPCPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pluginpb.RegisterFrameworkServer(s, &grpcServer{impl: p.Impl})
	return nil
}

func (p *GRPCPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &grpcClient{c: pluginpb.NewFrameworkClient(c)}, nil
}

type grpcServer struct {
	pluginpb.UnimplementedFrameworkServer
	impl Framework
}

func (s *grpcServer) Info(ctx context.Context, _ *pluginpb.InfoRequest) (*Info, error) {
	i, err := s.impl.Info(ctx)
	return i, toStatus(err)
}

func (s *grpcServer) LaunchSpec(ctx context.Context, cfg *ServerConfig) (*LaunchSpec, error) {
	l, err := s.impl.LaunchSpec(ctx, cfg)
	return l, toStatus(err)
}

func (s *grpcServer) Start(ctx context.Context, req *StartRequest) (*Server, error) {
	srv, err := s.impl.Start(ctx, req)
	return srv, toStatus(err)
}

func (s *grpcServer) Stop(ctx context.Context, req *pluginpb.StopRequest) (*pluginpb.StopResponse, error) {
	return &pluginpb.StopResponse{}, toStatus(s.impl.Stop(ctx, req.GetId()))
}

func (s *grpcServer) Health(ctx context.Context, req *HealthRequest) (*Health, error) {
	h, err := s.impl.Health(ctx, req)
	return h, toStatus(err)
}

func (s *grpcServer) Run(spec *BenchmarkSpec, stream grpc.ServerStreamingServer[pluginpb.RunEvent]) error {
	sum, err := s.impl.Run(stream.Context(), spec, func(r *Record) error {
		return stream.Send(&pluginpb.RunEvent{Event: &pluginpb.RunEvent_Record{Record: r}})
	})
	if err != nil {
		return toStatus(err)
	}
	return stream.Send(&pluginpb.RunEvent{Event: &pluginpb.RunEvent_Summary{Summary: sum}})
}

func toStatus(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, err.Error())
	case errors.Is(err, ErrInvalid):
		return status.Error(codes.InvalidArgument, err.Error())
	case errors.Is(err, ErrNotInstalled):
		return status.Error(codes.FailedPrecondition, err.Error())
	}
	return status.Error(codes.Unknown, err.Error())
}

type grpcClient struct{ c pluginpb.FrameworkClient }

func (c *grpcClient) Info(ctx context.Context) (*Info, error) {
	i, err := c.c.Info(ctx, &pluginpb.InfoRequest{})
	return i, fromStatus(err)
}

func (c *grpcClient) LaunchSpec(ctx context.Context, cfg *ServerConfig) (*LaunchSpec, error) {
	l, err := c.c.LaunchSpec(ctx, cfg)
	return l, fromStatus(err)
}

func (c *grpcClient) Start(ctx context.Context, req *StartRequest) (*Server, error) {
	s, err := c.c.Start(ctx, req)
	return s, fromStatus(err)
}

func (c *grpcClient) Stop(ctx context.Context, id string) error {
	_, err := c.c.Stop(ctx, &pluginpb.StopRequest{Id: id})
	return fromStatus(err)
}

func (c *grpcClient) Health(ctx context.Context, req *HealthRequest) (*Health, error) {
	h, err := c.c.Health(ctx, req)
	return h, fromStatus(err)
}

func (c *grpcClient) Run(ctx context.Context, spec *BenchmarkSpec, send func(*Record) error) (*Summary, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // also tells the plugin to stop when send fails
	stream, err := c.c.Run(ctx, spec)
	if err != nil {
		return nil, fromStatus(err)
	}
	for {
		ev, err := stream.Recv()
		if err == io.EOF {
			return nil, errors.New("the plugin ended the run without a summary")
		}
		if err != nil {
			return nil, fromStatus(err)
		}
		switch e := ev.Event.(type) {
		case *pluginpb.RunEvent_Record:
			if err := send(e.Record); err != nil {
				return nil, err
			}
		case *pluginpb.RunEvent_Summary:
			return e.Summary, nil
		}
	}
}

// ErrPluginGone is wrapped by every error from a call whose plugin process went
// away (it crashed or was killed).
var ErrPluginGone = errors.New("the plugin process is gone")

// statusError is a plugin's message that is also one of the SDK's errors.
type statusError struct {
	msg string
	err error
}

func (e *statusError) Error() string { return e.msg }
func (e *statusError) Unwrap() error { return e.err }

// fromStatus turns a gRPC status back into an error with the plugin's message.
func fromStatus(err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	switch st.Code() {
	case codes.Canceled:
		return fmt.Errorf("%s: %w", st.Message(), context.Canceled)
	case codes.DeadlineExceeded:
		return fmt.Errorf("%s: %w", st.Message(), context.DeadlineExceeded)
	case codes.InvalidArgument:
		return fmt.Errorf("%s: %w", st.Message(), ErrInvalid)
	case codes.FailedPrecondition:
		return &statusError{st.Message(), ErrNotInstalled}
	case codes.Unavailable:
		return fmt.Errorf("%w (%s)", ErrPluginGone, st.Message())
	}
	return errors.New(st.Message())
}
