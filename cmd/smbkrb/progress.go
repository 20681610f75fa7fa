package main

import (
	"fmt"
	"io"
	"sync"
	"time"

	"golang.org/x/term"
)

// progressBar draws the state of a transfer on one terminal line: bytes,
// percent and rate. A nil *progressBar draws nothing.
type progressBar struct {
	w     io.Writer
	label string
	total int64 // -1 when unknown
	begin time.Time

	mu    sync.Mutex
	last  time.Time
	done  int64
	shown int64 // the done of the last drawing, -1 before the first
}

// redrawEvery throttles the bar.
const redrawEvery = 100 * time.Millisecond

// newProgress returns a bar on stderr when stderr is a terminal and -q was
// not given, else nil.
func (a *app) newProgress(o *options, label string, total int64) *progressBar {
	if o.quiet || !term.IsTerminal(int(a.stderr.Fd())) {
		return nil
	}
	return &progressBar{w: a.stderr, label: label, total: total, begin: time.Now(), shown: -1}
}

// fn is the callback for smb.TransferOptions.Progress, nil without a bar.
func (p *progressBar) fn() func(done, total int64) {
	if p == nil {
		return nil
	}
	return p.update
}

func (p *progressBar) update(done, total int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if total >= 0 && p.total < 0 {
		p.total = total
	}
	p.done = done
	now := time.Now()
	if now.Sub(p.last) < redrawEvery && done != p.total {
		return
	}
	p.last = now
	p.draw(now)
}

func (p *progressBar) draw(now time.Time) {
	p.shown = p.done
	r := rate(p.done, now.Sub(p.begin))
	if p.total > 0 {
		pct := p.done * 100 / p.total
		fmt.Fprintf(p.w, "\r%s  %s / %s  %3d%%  %s/s\x1b[K", p.label, formatBytes(p.done), formatBytes(p.total), pct, formatBytes(r))
	} else {
		fmt.Fprintf(p.w, "\r%s  %s  %s/s\x1b[K", p.label, formatBytes(p.done), formatBytes(r))
	}
}

// finish draws the final state, unless it is on the screen already, and
// ends the line.
func (p *progressBar) finish() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown != p.done || p.shown < 0 {
		p.draw(time.Now())
	}
	fmt.Fprintln(p.w)
}

// formatBytes writes n in binary units: 512 B, 1.5 KiB, 7.0 MiB.
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}
