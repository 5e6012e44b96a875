package admin

import (
	"context"
	"fmt"
	"strings"
	"time"

	"bartleby/internal/fleet"
	"bartleby/internal/part"
)

// fleetData is the fleet on the home page: every node with its state,
// and the watch outcomes node by node.
type fleetData struct {
	Self    string // this node's name
	Version string // this node's version, which the others are compared with
	Err     string // why the nodes are not listed
	Nodes   []nodeRow
	Watch   *watchMatrix
}

type nodeRow struct {
	fleet.NodeStatus
	Self bool
	Age  string // how long it runs, "" when the node did not say
}

// watchMatrix is scenarios × nodes.
type watchMatrix struct {
	Nodes      []watchNode
	Rows       []watchRow
	Unreadable []fleet.WatchReport
}

type watchNode struct {
	Node string
	At   time.Time // when the node published: its times are as of then
}

type watchRow struct {
	Scenario string
	Cells    []watchCell
}

type watchCell struct {
	Node   string
	Result *fleet.ScenarioState // nil: the node has no outcome for it
	Ago    string
	Took   string
}

// fleetHome reads the fleet for the home page: a card saying how this
// node's link to etcd is, and the nodes and their watch outcomes when
// etcd answers. Cut off, the node reads nothing: each read would wait
// for the dial timeout.
func (v *view) fleetHome(ctx context.Context, now time.Time) (part.Card, *fleetData) {
	f := v.fleet
	h := f.Health()
	d := &fleetData{Self: f.Node()}
	c := part.Card{Title: "Fleet", Facts: []part.Fact{{Label: "This node", Value: f.Node()}}}
	if !h.OK {
		c.Level = part.Failing
		c.Facts = append(c.Facts, part.Fact{Label: "etcd", Value: fmt.Sprintf("cut off since %s (%s ago), serving the last known state", h.Since.Format(timeFormat), ago(now, h.Since)), Level: part.Failing})
		c.Problems = append(c.Problems, h.Err)
		d.Err = "This node is cut off from etcd: the other nodes cannot be listed."
		return c, d
	}
	c.Facts = append(c.Facts, part.Fact{Label: "etcd", Value: fmt.Sprintf("connected since %s", h.Since.Format(timeFormat))})
	nodes, err := f.Nodes(ctx)
	if err != nil {
		c.Level = part.Warning
		d.Err = err.Error()
		return c, d
	}
	up := 0
	var skewed []string
	for _, n := range nodes {
		self := n.Node == f.Node()
		if self {
			d.Version = n.Version
		}
		if n.Up {
			up++
		}
		if n.Skew {
			skewed = append(skewed, n.Node+" runs "+n.Version)
		}
		row := nodeRow{NodeStatus: n, Self: self}
		if !n.Started.IsZero() {
			row.Age = ago(now, n.Started)
		}
		d.Nodes = append(d.Nodes, row)
	}
	nodesUp := part.Fact{Label: "Nodes up", Value: fmt.Sprintf("%d of %d", up, len(nodes))}
	if up < len(nodes) {
		nodesUp.Level, c.Level = part.Warning, part.Warning
	}
	c.Facts = append(c.Facts, nodesUp)
	if len(skewed) > 0 {
		c.Level = part.Warning
		c.Facts = append(c.Facts, part.Fact{Label: "Version skew", Value: strings.Join(skewed, ", ") + "; this node runs " + d.Version, Level: part.Warning})
	}
	d.Watch, err = v.watchMatrix(ctx, now)
	if err != nil {
		d.Err = err.Error()
	}
	return c, d
}

// watchMatrix lays the nodes' published watch outcomes side by side, the
// scenarios in the order the nodes list them.
func (v *view) watchMatrix(ctx context.Context, now time.Time) (*watchMatrix, error) {
	reps, err := v.fleet.WatchReports(ctx)
	if err != nil || len(reps) == 0 {
		return nil, err
	}
	m := &watchMatrix{}
	var readable []fleet.WatchReport
	var scenarios []string
	seen := map[string]bool{}
	for _, r := range reps {
		if r.Err != "" {
			m.Unreadable = append(m.Unreadable, r)
			continue
		}
		readable = append(readable, r)
		m.Nodes = append(m.Nodes, watchNode{Node: r.Node, At: r.At})
		for _, s := range r.Scenarios {
			if !seen[s.Scenario] {
				seen[s.Scenario] = true
				scenarios = append(scenarios, s.Scenario)
			}
		}
	}
	for _, name := range scenarios {
		row := watchRow{Scenario: name}
		for _, r := range readable {
			cell := watchCell{Node: r.Node}
			for i := range r.Scenarios {
				if s := &r.Scenarios[i]; s.Scenario == name {
					cell.Result, cell.Ago, cell.Took = s, ago(now, s.Ran), fmt.Sprintf("%.3fs", s.Took.Seconds())
				}
			}
			row.Cells = append(row.Cells, cell)
		}
		m.Rows = append(m.Rows, row)
	}
	return m, nil
}

const timeFormat = "2006-01-02 15:04:05 MST"
