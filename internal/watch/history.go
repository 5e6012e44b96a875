package watch

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"bartleby/internal/atomicfile"
	"bartleby/internal/watch/scenario"
)

// Limits of the stored history.
const (
	maxFailures    = 200 // grouped on the admin page
	maxHistoryFile = 64 << 20
)

// record is one run, compact: 200 scenarios × 288 runs stay a few MB.
type record struct {
	T     int64     `json:"t"` // Unix seconds
	OK    bool      `json:"ok"`
	Slow  bool      `json:"slow,omitempty"`
	Flap  bool      `json:"flap,omitempty"` // failed, then passed the retry
	Total float32   `json:"total"`
	Steps []float32 `json:"d"` // seconds per step; -1 when skipped
}

// track is one scenario's runs, oldest first.
type track struct {
	Steps []string `json:"steps"` // step texts: a changed scenario starts afresh
	Runs  []record `json:"runs"`
}

// failure is a confirmed failure with what the page showed.
type failure struct {
	Time     time.Time `json:"time"`
	Scenario string    `json:"scenario"`
	Step     int       `json:"step"`
	Text     string    `json:"text"`
	Error    string    `json:"error"`
	Excerpt  string    `json:"excerpt,omitempty"`
}

// history is every scenario's recent runs, kept in state_dir so that charts
// survive restarts. Writes are batched: save runs at most once a minute.
type history struct {
	mu       sync.Mutex
	path     string
	max      int
	Tracks   map[string]*track `json:"tracks"`
	Failures []failure         `json:"failures"`
	dirty    bool
}

func loadHistory(path string, max int) (*history, error) {
	h := &history{path: path, max: max, Tracks: map[string]*track{}}
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return h, nil
	}
	if err != nil {
		return h, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxHistoryFile+1))
	if err == nil && len(data) > maxHistoryFile {
		err = fmt.Errorf("larger than %d bytes", maxHistoryFile)
	}
	if err == nil {
		err = json.Unmarshal(data, h)
	}
	if err != nil {
		// A broken history is not worth refusing to start over: keep it
		// aside for a look and begin a new one.
		os.Rename(path, path+".bad")
		return &history{path: path, max: max, Tracks: map[string]*track{}}, fmt.Errorf("%s: %w (moved to .bad, starting afresh)", path, err)
	}
	if h.Tracks == nil {
		h.Tracks = map[string]*track{}
	}
	return h, nil
}

// add records a run of sc.
func (h *history) add(sc *scenario.Scenario, r *scenario.Result, flap bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	texts := make([]string, len(sc.Steps))
	for i, st := range sc.Steps {
		texts[i] = st.Text
	}
	t := h.Tracks[sc.ID()]
	if t == nil || !slices.Equal(t.Steps, texts) {
		t = &track{Steps: texts}
		h.Tracks[sc.ID()] = t
	}
	rec := record{T: r.Started.Unix(), OK: r.OK, Slow: r.Slow, Flap: flap, Total: float32(r.Duration.Seconds())}
	for _, st := range r.Steps {
		d := float32(-1)
		if st.Status != scenario.Skipped {
			d = float32(st.Duration.Seconds())
		}
		rec.Steps = append(rec.Steps, d)
	}
	t.Runs = append(t.Runs, rec)
	if over := len(t.Runs) - h.max; over > 0 {
		t.Runs = slices.Delete(t.Runs, 0, over)
	}
	if f := r.Failed(); f != nil {
		h.Failures = append(h.Failures, failure{Time: r.Started, Scenario: sc.Feature + " / " + sc.Name, Step: slices.IndexFunc(r.Steps, func(s scenario.StepResult) bool { return s.Status == scenario.Failed }) + 1,
			Text: f.Text, Error: f.Error, Excerpt: f.Excerpt})
		if over := len(h.Failures) - maxFailures; over > 0 {
			h.Failures = slices.Delete(h.Failures, 0, over)
		}
	}
	h.dirty = true
}

func (h *history) setMax(n int) {
	h.mu.Lock()
	h.max = n
	h.mu.Unlock()
}

// prune forgets scenarios no longer configured.
func (h *history) prune(keep map[string]bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for id := range h.Tracks {
		if !keep[id] {
			delete(h.Tracks, id)
			h.dirty = true
		}
	}
}

// snapshot copies a track for rendering.
func (h *history) snapshot(id string) track {
	h.mu.Lock()
	defer h.mu.Unlock()
	t := h.Tracks[id]
	if t == nil {
		return track{}
	}
	return track{Steps: t.Steps, Runs: slices.Clone(t.Runs)}
}

func (h *history) failures() []failure {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.Failures)
}

// save writes the history when it changed: a temporary file, fsynced,
// renamed over the old one.
func (h *history) save() error {
	h.mu.Lock()
	if !h.dirty {
		h.mu.Unlock()
		return nil
	}
	data, err := json.Marshal(h)
	h.dirty = false
	h.mu.Unlock()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(h.path), 0o700); err != nil {
		return err
	}
	return atomicfile.Write(h.path, data, 0o600)
}
