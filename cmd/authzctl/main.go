// Command authzctl is the operator CLI of appauthz: it manages apps, keys,
// AppCodes, APIs and grants in Redis, and asks a running authzd for a
// decision (check). See ARCHITECTURE.md §7 for the binding command line.
package main

import "os"

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }
