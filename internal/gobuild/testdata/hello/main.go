// Command hello is a tiny main package for the gobuild tests.
package main

import "fmt"

func main() { fmt.Println("hello") }
