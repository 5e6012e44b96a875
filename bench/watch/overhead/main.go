// Command overhead measures what a watch step adds to a plain net/http GET
// of the same page: both fetch URL over fresh connections (each scenario
// run is a fresh session) and over a kept-alive one, alternating in rounds
// so that the machine's drift hits both alike. It prints median µs per
// request for each and the difference.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"bartleby/internal/watch/scenario"
)

func main() {
	url := flag.String("url", "", "page to fetch")
	see := flag.String("see", "", "text the page holds")
	n := flag.Int("n", 100, "requests per round, at most 100 (a scenario holds 200 steps)")
	rounds := flag.Int("rounds", 15, "rounds")
	flag.Parse()
	if *url == "" || *n < 1 || *n > 100 || *rounds < 1 || *rounds > 1000 {
		log.Fatal("usage: overhead -url URL -see TEXT [-n 100] [-rounds 15]")
	}
	// A scenario of n `I go to` + `I should see` pairs: one session, the
	// connection kept alive, as in a real scenario.
	var b strings.Builder
	b.WriteString("Feature: Bench\n Scenario: Steps\n")
	for range *n {
		fmt.Fprintf(&b, "  Given I go to %s\n  Then I should see %q\n", *url, *see)
	}
	feat, err := scenario.Parse("bench.feature", []byte(b.String()))
	if err != nil {
		log.Fatal(err)
	}
	one, err := scenario.Parse("one.feature", []byte(fmt.Sprintf("Feature: One\n Scenario: One\n  Given I go to %s\n  Then I should see %q\n", *url, *see)))
	if err != nil {
		log.Fatal(err)
	}
	var plainKA, watchKA, plainFresh, watchFresh []float64
	ctx := context.Background()
	for range *rounds {
		client := &http.Client{Transport: &http.Transport{}}
		start := time.Now()
		for range *n {
			get(client, *url, *see)
		}
		plainKA = append(plainKA, perReq(start, *n))

		start = time.Now()
		if r := scenario.Run(ctx, feat.Scenarios[0], scenario.Options{}); !r.OK {
			log.Fatalf("scenario failed: %s", r.Failed().Error)
		}
		watchKA = append(watchKA, perReq(start, *n))

		start = time.Now()
		for range *n {
			c := &http.Client{Transport: &http.Transport{}}
			get(c, *url, *see)
			c.CloseIdleConnections()
		}
		plainFresh = append(plainFresh, perReq(start, *n))

		start = time.Now()
		for range *n {
			if r := scenario.Run(ctx, one.Scenarios[0], scenario.Options{}); !r.OK {
				log.Fatalf("scenario failed: %s", r.Failed().Error)
			}
		}
		watchFresh = append(watchFresh, perReq(start, *n))
	}
	fmt.Printf("%-34s %12s %12s %12s\n", "per step (GET + check the text)", "net/http µs", "watch µs", "added µs")
	for _, row := range []struct {
		name       string
		plain, wat []float64
	}{{"kept-alive connection", plainKA, watchKA}, {"fresh connection (new session)", plainFresh, watchFresh}} {
		p, w := median(row.plain), median(row.wat)
		fmt.Printf("%-34s %12.1f %12.1f %12.1f\n", row.name, p, w, w-p)
	}
}

func get(c *http.Client, url, see string) {
	resp, err := c.Get(url)
	if err != nil {
		log.Fatal(err)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	resp.Body.Close()
	if err != nil || !strings.Contains(string(body), see) {
		fmt.Fprintln(os.Stderr, "page lacks the text")
		os.Exit(1)
	}
}

func perReq(start time.Time, n int) float64 {
	return float64(time.Since(start).Microseconds()) / float64(n)
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
