package web_test

import (
	"time"

	"github.com/chromedp/cdproto/page"

	"csirtlink/internal/config"
)

// fastFed makes federation retries quick so tests finish in seconds.
var fastFed = config.Federation{RetryMin: config.Duration(20 * time.Millisecond), RetryMax: config.Duration(200 * time.Millisecond),
	PullInterval: config.Duration(50 * time.Millisecond)}

var pageLoad = page.LoadEventFired
