package jail

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// TestSFTPHandleBudget: files and directories held open count against
// one budget per connection; past it opens fail, and a close frees one.
func TestSFTPHandleBudget(t *testing.T) {
	t.Parallel()
	cl, dir := sftpClient(t)
	os.WriteFile(filepath.Join(dir, "root", "f"), []byte("x"), 0o644)
	var open []io.Closer
	for i := 0; i < MaxHandles; i++ {
		f, err := cl.Open("/f")
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		open = append(open, f)
	}
	if f, err := cl.Open("/f"); err == nil {
		f.Close()
		t.Fatalf("open %d succeeded past the budget", MaxHandles+1)
	}
	if _, err := cl.ReadDir("/"); err == nil {
		t.Fatal("a directory was opened past the budget")
	}
	if _, err := cl.Create("/new"); err == nil {
		t.Fatal("a file was created past the budget")
	}
	open[0].Close()
	f, err := cl.Open("/f")
	if err != nil {
		t.Fatalf("open after a close: %v", err)
	}
	f.Close()
	for _, f := range open[1:] {
		f.Close()
	}
	// Every handle came back: a full budget of directories opens again.
	j, _ := testJail(t)
	h := handlers{j}
	var dirs []io.Closer
	for i := 0; i < MaxHandles; i++ {
		l, err := h.list("/")
		if err != nil {
			t.Fatalf("list %d: %v", i, err)
		}
		dirs = append(dirs, l.(io.Closer))
	}
	if _, err := h.list("/"); err == nil {
		t.Fatal("list past the budget")
	}
	for _, d := range dirs {
		d.Close()
		d.Close() // a second close gives nothing back twice
	}
	if n := j.handles.n.Load(); n != 0 {
		t.Fatalf("%d handles counted after every close", n)
	}
}

// TestSFTPListLargeDirectory reads a directory larger than pkg/sftp's
// batches, with a mount point shadowing an entry of the same name.
func TestSFTPListLargeDirectory(t *testing.T) {
	t.Parallel()
	cl, dir := sftpClient(t)
	root := filepath.Join(dir, "root")
	want := []string{"data", "www"}
	for i := 0; i < 1234; i++ {
		name := fmt.Sprintf("f%04d", i)
		os.WriteFile(filepath.Join(root, name), nil, 0o644)
		want = append(want, name)
	}
	os.WriteFile(filepath.Join(root, "data"), nil, 0o644) // hidden by the mount
	infos, err := cl.ReadDir("/")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, fi := range infos {
		got = append(got, fi.Name())
		if fi.Name() == "data" && !fi.IsDir() {
			t.Error("the file data is listed instead of the mount /data")
		}
	}
	sort.Strings(got)
	sort.Strings(want)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("listed %d entries, want %d", len(got), len(want))
	}
}
