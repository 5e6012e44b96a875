package privdrop

import (
	"bufio"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
)

func TestLookupUnknownUser(t *testing.T) {
	_, err := Lookup("no-such-user-bartleby-test")
	if err == nil || !strings.Contains(err.Error(), `no user "no-such-user-bartleby-test" on this system`) {
		t.Fatalf("got %v", err)
	}
}

// TestDrop drops privileges in a child process (the test binary run again)
// that has several OS threads, and checks every thread from inside (Verify)
// and from outside (Threads of the child's pid).
func TestDrop(t *testing.T) {
	if os.Getenv("PRIVDROP_CHILD") == "1" {
		dropInChild()
		return
	}
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI runs the suite as root; this test needs root")
		}
		t.Skip("needs root")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestDrop$")
	cmd.Env = append(os.Environ(), "PRIVDROP_CHILD=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer stdin.Close()
	// The child says "dropped" and then waits for its stdin to close.
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if line != "dropped\n" {
		t.Fatalf("child said %q, %v", line, err)
	}
	threads, err := Threads(strconv.Itoa(cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	if len(threads) < 4 {
		t.Errorf("child has %d threads, want several", len(threads))
	}
	nobody, err := Lookup("nobody")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range threads {
		if err := c.Check(nobody.UID, nobody.GID); err != nil {
			t.Error(err)
		}
	}
}

func dropInChild() {
	// Park goroutines on their own OS threads before the drop: it must
	// reach them too.
	var ready sync.WaitGroup
	for range 4 {
		ready.Add(1)
		go func() {
			runtime.LockOSThread()
			ready.Done()
			select {}
		}()
	}
	ready.Wait()
	u, err := Lookup("nobody")
	if err == nil {
		err = Drop(u)
	}
	if err != nil {
		println("drop:", err.Error())
		os.Exit(1)
	}
	os.Stdout.WriteString("dropped\n")
	os.Stdin.Read(make([]byte, 1))
	os.Exit(0)
}
