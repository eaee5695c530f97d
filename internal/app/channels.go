package app

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"csirtlink/internal/clock"
	"csirtlink/internal/config"
	"csirtlink/internal/hotline"
	"csirtlink/internal/notify"

	"github.com/ProtonMail/go-crypto/openpgp"
)

// LoadOrCreatePGP returns a node's armored OpenPGP public key from path, making the key
// pair on first start. The private key signs hotline mail, so partners can tell it is
// the team's; partners encrypt fallback mail to the public key.
func LoadOrCreatePGP(path, teamName, email string) (string, error) {
	e, err := readPGP(path)
	if errors.Is(err, fs.ErrNotExist) {
		e, err = notify.GenerateKey(teamName+" hotline", email)
		if err != nil {
			return "", fmt.Errorf("pgp key: %w", err)
		}
		priv, err := notify.ArmorPrivate(e)
		if err != nil {
			return "", fmt.Errorf("pgp key: %w", err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return "", fmt.Errorf("pgp key: %w", err)
		}
		if _, err := f.WriteString(priv); err != nil {
			f.Close()
			return "", fmt.Errorf("pgp key: %w", err)
		}
		if err := f.Close(); err != nil {
			return "", fmt.Errorf("pgp key: %w", err)
		}
	} else if err != nil {
		return "", err
	}
	return notify.ArmorPublic(e)
}

func readPGP(path string) (*openpgp.Entity, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	e, err := notify.ReadArmoredKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("pgp key %s: %w", path, err)
	}
	return e, nil
}

// openChannels builds the hotline's ways out from the configuration.
func openChannels(cfg config.Config, clk clock.Clock) (hotline.Channels, error) {
	var ch hotline.Channels
	if cfg.SMTP != nil {
		signer, err := readPGP(cfg.PGPKeyFile)
		if err != nil {
			return ch, err
		}
		m, err := notify.NewMailer(notify.SMTPConfig{Addr: cfg.SMTP.Addr, From: cfg.SMTP.From, Username: cfg.SMTP.Username,
			Password: cfg.SMTP.Password, TLS: cfg.SMTP.TLS, Timeout: time.Duration(cfg.SMTP.Timeout), Clock: clk}, signer)
		if err != nil {
			return ch, fmt.Errorf("smtp: %w", err)
		}
		ch.Mail = m
	}
	ch.Webhook = notify.NewWebhook(notify.WebhookOptions{AllowPrivate: cfg.Hotline.WebhookAllowPrivate, Clock: clk})
	return ch, nil
}
