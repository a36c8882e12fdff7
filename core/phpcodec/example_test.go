package phpcodec_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/sessionkit/sessionkit/core/phpcodec"
)

// Reading a session that PHP wrote with its default handler ("php").
func ExampleCodec_Decode() {
	data := []byte(`user|a:2:{s:2:"id";i:42;s:4:"name";s:5:"alice";}cart|a:2:{i:0;s:5:"apple";i:1;s:4:"pear";}admin|b:0;`)
	values, err := phpcodec.PHP.Decode(data)
	if err != nil {
		panic(err)
	}
	user := values["user"].(*phpcodec.Array) // an array with string keys
	id, _ := user.Get("id")
	name, _ := user.Get("name")
	fmt.Println(id.(int64), name)
	fmt.Println(values["cart"].([]any)) // a list
	fmt.Println(values["admin"])
	// Output:
	// 42 alice
	// [apple pear]
	// false
}

// Writing a session PHP can read; Go maps are written with sorted keys.
func ExampleCodec_Encode() {
	data, err := phpcodec.PHP.Encode(map[string]any{
		"user_id": 42,
		"roles":   []string{"admin", "editor"},
		"prefs":   map[string]any{"theme": "dark", "ratio": 1.5},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(string(data))
	// Output:
	// prefs|a:2:{s:5:"ratio";d:1.5;s:5:"theme";s:4:"dark";}roles|a:2:{i:0;s:5:"admin";i:1;s:6:"editor";}user_id|i:42;
}

// PHP objects and back-references survive a Go round trip byte for byte;
// Go changes only what it sets.
func ExampleCodec_Decode_objects() {
	codec, err := phpcodec.ForHandler("php_serialize")
	if err != nil {
		panic(err)
	}
	data := []byte("a:2:{s:4:\"auth\";O:9:\"App\\Login\":1:{s:7:\"\x00*\x00user\";s:5:\"alice\";}s:4:\"same\";r:2;}")
	values, err := codec.Decode(data)
	if err != nil {
		panic(err)
	}
	login := values["auth"].(*phpcodec.Object)
	user, _ := login.Get("user") // the protected property \0*\0user
	fmt.Println(login.Class, user, values["same"] == values["auth"])

	values["visits"] = 3
	out, _ := codec.Encode(values)
	fmt.Println(strings.ReplaceAll(string(out), "\x00", `\0`))
	// Output:
	// App\Login alice true
	// a:3:{s:4:"auth";O:9:"App\Login":1:{s:7:"\0*\0user";s:5:"alice";}s:4:"same";r:2;s:6:"visits";i:3;}
}

// Encode refuses what PHP would lose instead of writing a partial session.
func ExampleCodec_Encode_refused() {
	_, err := phpcodec.PHPBinary.Encode(map[string]any{"5": "PHP code cannot reach $_SESSION['5']"})
	fmt.Println(errors.Is(err, phpcodec.ErrUnrepresentable))
	fmt.Println(err)
	// Output:
	// true
	// phpcodec: value not representable in PHP's session format: $_SESSION["5"]: an integer-like session key is unreachable from PHP code and dropped when PHP writes the session
}
