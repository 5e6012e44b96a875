package mail

import (
	"html/template"
	"io"
	"net/http"
	"strings"
	"time"

	"bartleby/internal/adminui"
	"bartleby/internal/mail/queue"
)

// maxShownBody bounds the body the message view shows.
const maxShownBody = 256 << 10

type messageData struct {
	Shown
	Now      time.Time
	CSRF     template.HTML
	Ops      []bulkOp
	Body     string
	ShowBody bool
	Cut      bool // the body is longer than shown
}

// message shows one queued message: envelope, recipients with their last
// answers, header; the body only when asked for (?body=1), since it may
// be private.
func (p *queuePage) message(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	if !queue.ValidID(id) {
		adminui.Error(w, r, http.StatusNotFound, "not a message id")
		return
	}
	s, err := p.m.shown(id)
	if err != nil {
		adminui.Error(w, r, http.StatusNotFound, "Message "+id+" is not in the queue (delivered, bounced or deleted meanwhile).")
		return
	}
	d := messageData{Shown: s, Now: time.Now(), CSRF: adminui.CSRFField(r), Ops: bulkOpList, ShowBody: r.URL.Query().Get("body") == "1"}
	if d.ShowBody {
		d.Body, d.Cut, err = p.m.body(id)
		if err != nil {
			adminui.Error(w, r, http.StatusInternalServerError, "The message could not be read: "+err.Error())
			return
		}
		p.m.log.Info("message body viewed from the admin page", "user", adminui.User(r), "id", id)
	}
	render(w, r, "Message "+id, "admin_message.html", d)
}

// body is the message after its header, at most maxShownBody bytes, and
// whether there was more.
func (m *Mail) body(id string) (string, bool, error) {
	data, err := m.q.Data(id)
	if err != nil {
		return "", false, err
	}
	defer data.Close()
	b, err := io.ReadAll(io.LimitReader(data, maxShownHeader+maxShownBody+1))
	if err != nil {
		return "", false, err
	}
	text := strings.ReplaceAll(string(b), "\r\n", "\n")
	if _, after, ok := strings.Cut(text, "\n\n"); ok {
		text = after
	}
	if len(text) > maxShownBody {
		return strings.ToValidUTF8(text[:maxShownBody], "?"), true, nil
	}
	return strings.ToValidUTF8(text, "?"), len(b) > maxShownHeader+maxShownBody, nil
}
