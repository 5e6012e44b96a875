package admin

import (
	"html/template"
	"log/slog"
	"net/http"
	"strings"

	"bartleby/internal/adminui"
	"bartleby/internal/logring"
)

// maxShownLogs bounds the log view.
const maxShownLogs = 500

var logLevels = []struct{ Name, Value string }{{"info and above", "info"}, {"warnings and errors", "warn"}, {"errors", "error"}}

type logsData struct {
	Entries []logEntry
	Parts   []string
	Part    string
	Level   string
	Levels  []struct{ Name, Value string }
}

type logEntry struct {
	logring.Entry
	Class string
}

// logs shows the last log records kept in memory, newest first, filtered
// by part and level (GET query).
func (v *view) logs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := logsData{Parts: v.deps.Logs.Parts(), Level: "info", Levels: logLevels}
	for _, l := range logLevels {
		if q.Get("level") == l.Value {
			d.Level = l.Value
		}
	}
	var min slog.Level
	min.UnmarshalText([]byte(d.Level))
	for _, p := range d.Parts {
		if p != "" && q.Get("part") == p {
			d.Part = p
		}
	}
	for i, e := range v.deps.Logs.Entries(d.Part, min) {
		if i == maxShownLogs {
			break
		}
		class := ""
		switch {
		case e.Level >= slog.LevelError:
			class = "bad"
		case e.Level >= slog.LevelWarn:
			class = "warn"
		}
		d.Entries = append(d.Entries, logEntry{e, class})
	}
	var body strings.Builder
	if err := pages.ExecuteTemplate(&body, "logs.html", d); err != nil {
		adminui.Error(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	adminui.Render(w, r, "Logs", template.HTML(body.String()))
}
