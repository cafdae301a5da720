// The program behind every stand-in command inside a sandbox droplet (docker, cloud-init, systemctl, iptables, ufw,
// apt-get, sysctl, df): one static binary, installed under each of those names, that forwards the invocation to the
// sandbox process over the droplet's one bind-mounted unix socket and replays the streamed answer. All behaviour
// lives in the (typed, tested) sandbox code; this only carries bytes, and starts in about a millisecond.
//
// Protocol (sandbox/droplets/command-socket.ts): one JSON line {"tool","argv","cwd","env"} to the socket, then JSON
// lines back: {"o": base64} stdout, {"e": base64} stderr, and last {"x": exit code}.
package main

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
)

// Where the socket is inside every droplet; SANDBOX_COMMAND_SOCKET overrides it (the client's own tests).
const defaultSocket = "/run/trigger-ops-sandbox/commands.sock"

type request struct {
	Tool string            `json:"tool"`
	Argv []string          `json:"argv"`
	Cwd  string            `json:"cwd"`
	Env  map[string]string `json:"env"`
}

type frame struct {
	O *string `json:"o"`
	E *string `json:"e"`
	X *int    `json:"x"`
}

func unreachable(tool string) {
	if tool == "docker" {
		fmt.Fprintln(os.Stderr, "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?")
	} else {
		fmt.Fprintf(os.Stderr, "%s: the droplet's host agent is not answering\n", tool)
	}
	os.Exit(1)
}

func main() {
	tool := filepath.Base(os.Args[0])
	socket := os.Getenv("SANDBOX_COMMAND_SOCKET")
	if socket == "" {
		socket = defaultSocket
	}
	cwd, err := os.Getwd()
	if err != nil {
		cwd = "/"
	}
	env := map[string]string{}
	for _, kv := range os.Environ() {
		if i := strings.IndexByte(kv, '='); i > 0 {
			env[kv[:i]] = kv[i+1:]
		}
	}
	argv := os.Args[1:]
	if argv == nil {
		argv = []string{}
	}
	conn, err := net.Dial("unix", socket)
	if err != nil {
		unreachable(tool)
	}
	line, _ := json.Marshal(request{Tool: tool, Argv: argv, Cwd: cwd, Env: env})
	if _, err := conn.Write(append(line, '\n')); err != nil {
		unreachable(tool)
	}
	reader := bufio.NewReaderSize(conn, 64*1024)
	stdout := bufio.NewWriter(os.Stdout)
	for {
		text, err := reader.ReadBytes('\n')
		if len(text) > 0 {
			var f frame
			if json.Unmarshal(text, &f) != nil {
				fmt.Fprintf(os.Stderr, "%s: malformed answer from the sandbox\n", tool)
				os.Exit(1)
			}
			if f.O != nil {
				if b, err := base64.StdEncoding.DecodeString(*f.O); err == nil {
					stdout.Write(b)
				}
			}
			if f.E != nil {
				if b, err := base64.StdEncoding.DecodeString(*f.E); err == nil {
					// stdout first, so the two streams keep the order the sandbox wrote them in.
					stdout.Flush()
					os.Stderr.Write(b)
				}
			}
			if f.X != nil {
				stdout.Flush()
				os.Exit(*f.X)
			}
		}
		if err != nil {
			stdout.Flush()
			unreachable(tool)
		}
	}
}
