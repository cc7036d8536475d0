// Command etcd is etcd v3.6.4's server, built from the module proxy: the
// root module that holds etcd's own main package has replace directives, so
// `go install` of it fails; this wrapper calls the same entry point.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
