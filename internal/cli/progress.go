package cli

import (
	"io"

	"github.com/schollz/progressbar/v3"
)

// Progress returns a progress callback that draws a bar with rate and ETA
// on stderr when stderr is a terminal (a spinner with the count while the
// total is not known, total < 0), and does nothing otherwise: logs and
// pipes get the final summary only. Call the returned finish when done.
func Progress(stderr io.Writer, description string) (update func(done, total int), finish func()) {
	if !IsTerminal(stderr) {
		return func(int, int) {}, func() {}
	}
	var bar *progressbar.ProgressBar
	update = func(done, total int) {
		if bar == nil {
			bar = progressbar.NewOptions(total,
				progressbar.OptionSetWriter(stderr),
				progressbar.OptionSetDescription(description),
				progressbar.OptionShowCount(),
				progressbar.OptionShowIts(),
				progressbar.OptionSetItsString("img"),
				progressbar.OptionThrottle(100_000_000),
				progressbar.OptionClearOnFinish(),
			)
		}
		_ = bar.Set(done)
	}
	finish = func() {
		if bar != nil {
			_ = bar.Finish()
		}
	}
	return update, finish
}
