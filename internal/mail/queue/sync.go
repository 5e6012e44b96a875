package queue

import "os"

// dirSyncer fsyncs the spool directory for many writers at once: every
// request waiting when an fsync starts is answered by that fsync, so a burst
// of concurrent messages costs one directory fsync, not one each.
type dirSyncer struct {
	dir  *os.File
	reqs chan chan error
	done chan struct{}
}

func newDirSyncer(dir *os.File) *dirSyncer {
	s := &dirSyncer{dir: dir, reqs: make(chan chan error, 256), done: make(chan struct{})}
	go s.run()
	return s
}

// Sync returns once the directory has been fsynced after the call began.
func (s *dirSyncer) Sync() error {
	ch := make(chan error, 1)
	select {
	case s.reqs <- ch:
	case <-s.done:
		return os.ErrClosed
	}
	select {
	case err := <-ch:
		return err
	case <-s.done:
		return os.ErrClosed
	}
}

func (s *dirSyncer) run() {
	var batch []chan error
	for {
		select {
		case ch := <-s.reqs:
			batch = append(batch[:0], ch)
		case <-s.done:
			return
		}
	more:
		for {
			select {
			case ch := <-s.reqs:
				batch = append(batch, ch)
			default:
				break more
			}
		}
		err := s.dir.Sync()
		for _, ch := range batch {
			ch <- err
		}
	}
}

func (s *dirSyncer) close() error {
	close(s.done)
	return s.dir.Close()
}
