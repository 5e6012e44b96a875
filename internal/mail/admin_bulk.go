package mail

import (
	"context"
	"fmt"
	"html/template"
	"net/http"

	"bartleby/internal/adminui"
	"bartleby/internal/mail/maildrop"
	"bartleby/internal/mail/queue"
)

// maxBulk bounds the messages one bulk action names.
const maxBulk = 10000

type bulkOp struct{ Op, Label string }

// bulkOpList are the bulk actions, in the order the page offers them.
var bulkOpList = []bulkOp{{"retry", "Retry now"}, {"hold", "Hold"}, {"release", "Release"}, {"delete", "Delete"}}

var bulkOps = map[string]string{"retry": "Retry", "hold": "Hold", "release": "Release", "delete": "Delete"}

type confirmData struct {
	CSRF  template.HTML
	Op    string
	Label string
	IDs   []string
}

// bulk applies an action to the checked messages: the first POST shows
// what will be done and asks once; the POST from that page (confirm=yes)
// does it.
func (p *queuePage) bulk(w http.ResponseWriter, r *http.Request) {
	op := r.PostFormValue("op")
	label, ok := bulkOps[op]
	if !ok {
		adminui.Error(w, r, http.StatusBadRequest, "unknown action")
		return
	}
	ids := r.PostForm["id"]
	for _, id := range ids {
		if safeID(id) != id {
			adminui.Error(w, r, http.StatusBadRequest, "not a message id")
			return
		}
	}
	switch {
	case len(ids) == 0:
		adminui.Error(w, r, http.StatusBadRequest, "No message was selected: go back and tick some.")
		return
	case len(ids) > maxBulk:
		adminui.Error(w, r, http.StatusBadRequest, fmt.Sprintf("At most %d messages at once.", maxBulk))
		return
	case r.PostFormValue("confirm") != "yes":
		render(w, r, "Confirm: "+label, "admin_confirm.html", confirmData{CSRF: adminui.CSRFField(r), Op: op, Label: label, IDs: ids})
		return
	}
	if op == "retry" {
		p.retry(w, r, ids)
		return
	}
	failed := 0
	for _, id := range ids {
		var o Outcome
		switch op {
		case "hold":
			o = p.m.setHold(id, true)
		case "release":
			o = p.m.setHold(id, false)
		case "delete":
			o = p.m.deleteOne(id)
		}
		if o.Result == "error" {
			failed++
		}
	}
	p.m.log.Info("queue action from the admin page", "user", adminui.User(r), "op", op, "messages", len(ids), "failed", failed)
	http.Redirect(w, r, fmt.Sprintf("/mail/?done=%s&n=%d&failed=%d", op, len(ids)-failed, failed), http.StatusSeeOther)
}

// retry attempts the messages now, under the same allowance as Flush.
func (p *queuePage) retry(w http.ResponseWriter, r *http.Request, ids []string) {
	if wait := p.tryFlush(); wait > 0 {
		http.Redirect(w, r, fmt.Sprintf("/mail/?done=wait&s=%d", int(wait.Seconds())+1), http.StatusSeeOther)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), pageFlushWait)
	defer cancel()
	failed := 0
	for _, o := range p.m.run.flush(ctx, ids) {
		if o.Result == "held" || o.Result == "gone" || o.Result == "error" {
			failed++
		}
	}
	p.m.log.Info("queue retry from the admin page", "user", adminui.User(r), "messages", len(ids), "failed", failed)
	http.Redirect(w, r, fmt.Sprintf("/mail/?done=retry&n=%d&failed=%d", len(ids)-failed, failed), http.StatusSeeOther)
}

// safeID returns s when it is a queue id or a maildrop drop name, else "?".
func safeID(s string) string {
	if maildrop.ValidName(s) {
		return s
	}
	if queue.ValidID(s) {
		return s
	}
	return "?"
}
