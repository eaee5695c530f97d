package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"

	"csirtlink/internal/envelope"
	"csirtlink/internal/identity"
)

// A known device is a browser someone has signed in with before. After each completed
// sign-in the console sets a long-lived cookie naming the user and a random device id,
// signed with a key only this node has. A sign-in from a known device is not held up by
// the throttles strangers fill (of the account and of the address): it has its own, so
// that anyone who knows the name "duty" can slow down strangers guessing at it but not
// the duty officer at their own desk.
const deviceLifetime = 365 * 24 * time.Hour

// DeviceKey derives the key that signs device cookies from the node's signing key, so
// that it survives restarts and needs no storage: an Ed25519 signature is deterministic,
// and this message is signed nowhere else (its domain names it).
func DeviceKey(sign func([]byte) []byte) []byte {
	sum := sha256.Sum256(sign(envelope.Canonical("csirtlink/console/device-key/v1")))
	return sum[:]
}

// deviceMAC signs a device cookie's fields.
func (c *Console) deviceMAC(userID, deviceID, issued string) string {
	m := hmac.New(sha256.New, c.deviceKey)
	m.Write(envelope.Canonical("csirtlink/console/device/v1", []byte(userID), []byte(deviceID), []byte(issued)))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// knownDevice returns the id of the request's device if its cookie is genuine, recent
// and names userID; "" otherwise.
func (c *Console) knownDevice(r *http.Request, userID string) string {
	return c.deviceID(c.cookie(r, "csl_device"), userID)
}

// deviceID reads a device cookie's value: the device's id if it is genuine, recent and
// names userID, "" otherwise.
func (c *Console) deviceID(v, userID string) string {
	parts := strings.Split(v, ".")
	if len(parts) != 4 || parts[0] != userID || len(parts[1]) != 32 {
		return ""
	}
	if _, err := hex.DecodeString(parts[1]); err != nil {
		return ""
	}
	issued, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil {
		return ""
	}
	if age := c.d.Clock.Now().Sub(time.Unix(issued, 0)); age < -time.Minute || age > deviceLifetime {
		return ""
	}
	if !hmac.Equal([]byte(parts[3]), []byte(c.deviceMAC(parts[0], parts[1], parts[2]))) {
		return ""
	}
	return parts[1]
}

// rememberDevice sets the device cookie after a completed sign-in, keeping the device's
// id when the browser was already known for this user.
func (c *Console) rememberDevice(w http.ResponseWriter, r *http.Request, userID string) {
	id := c.knownDevice(r, userID)
	if id == "" {
		id = identity.RandomID(16)
	}
	issued := strconv.FormatInt(c.d.Clock.Now().Unix(), 10)
	c.setCookie(w, "csl_device", userID+"."+id+"."+issued+"."+c.deviceMAC(userID, id, issued),
		int(deviceLifetime/time.Second), http.SameSiteStrictMode)
}

// randomKey is the device key of a console given none: devices are then forgotten when
// the node restarts, which only costs a throttle bypass.
func randomKey() []byte {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return b
}
