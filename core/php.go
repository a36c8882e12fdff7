package core

import (
	"time"

	"github.com/sessionkit/sessionkit/core/phpcodec"
)

// PHPConfig returns the Config of a Manager that shares its sessions with a
// PHP application — one login for both during a migration. It sets:
//
//   - Transport: TransportRawCookie, PHP's unsigned PHPSESSID cookie (strict
//     mode protects it: an ID the store does not hold is never adopted);
//   - PlainRecords with the codec PHP's session.serialize_handler names
//     ("php", PHP's default, "php_serialize" or "php_binary"; see
//     core/phpcodec), so each side reads what the other writes;
//   - IDs shaped like PHP 8.4's: 32 hex characters, 128 bits;
//   - IdleTimeout: PHP's session.gc_maxlifetime (PHP's default is 1440 s);
//     AbsoluteTimeout stays 12 h, or gc_maxlifetime if that is longer.
//
// Pair it with a store in PHP's layout: stores/filestore over PHP's
// session.save_path, or stores/redisstore with PHPRedis(). Set Cookie,
// Locking and the rest on the returned Config as usual; Cookie.Name must
// stay PHP's session.name.
func PHPConfig(serializeHandler string, gcMaxLifetime time.Duration) (Config, error) {
	codec, err := phpcodec.ForHandler(serializeHandler)
	if err != nil {
		return Config{}, errorf(ErrConfig, "%v", err)
	}
	if gcMaxLifetime <= 0 {
		return Config{}, errorf(ErrConfig, "gcMaxLifetime must be positive, got %v", gcMaxLifetime)
	}
	return Config{
		Transport:       TransportRawCookie,
		Cookie:          CookieConfig{Name: "PHPSESSID"},
		PlainRecords:    true,
		Codec:           codec,
		IDLength:        32,
		IDBitsPerChar:   4,
		IdleTimeout:     gcMaxLifetime,
		AbsoluteTimeout: max(12*time.Hour, gcMaxLifetime),
	}, nil
}
