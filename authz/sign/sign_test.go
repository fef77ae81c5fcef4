package sign

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestHMACSeedVector(t *testing.T) {
	now, _ := http.ParseTime("Thu, 22 Jun 2017 21:12:36 GMT")
	s := HMAC{Key: "wsK8t77fvAAs3i7878NSkC0j95ib3oVu", Secret: "qdWre3pJxitNm9NOBRH3EpWeVYepnt3f", Headers: []string{"date", "host", "request-line"}, Now: now}
	h, err := s.Sign(HMACRequest{Method: "GET", RequestURI: "/requests?name=bob", Host: "hmac.com"})
	if err != nil {
		t.Fatal(err)
	}
	if want := "date: Thu, 22 Jun 2017 21:12:36 GMT\nhost: hmac.com\nGET /requests?name=bob HTTP/1.1"; h.SigningString != want {
		t.Errorf("signing string %q, want %q", h.SigningString, want)
	}
	if want := `hmac appkey="wsK8t77fvAAs3i7878NSkC0j95ib3oVu", algorithm="hmac-sha256", headers="date host request-line", signature="FiPTWoayUGvlaAk6HbnxEzlXo0JO2HhiDGEwsR4yKPo="`; h.Authorization != want {
		t.Errorf("authorization %q, want %q", h.Authorization, want)
	}
	if h.Digest != "" || h.DateName != "Date" || h.Date != "Thu, 22 Jun 2017 21:12:36 GMT" {
		t.Errorf("headers %+v", h)
	}
}

func TestDigestSeedVector(t *testing.T) {
	if got, want := Digest([]byte(`{"name": "bob"}`)), "SHA-256=lWuihDRnfX2CUVffGA74EjBnzVgnfHPywPXkYaKDC1I="; got != want {
		t.Fatalf("Digest = %s, want %s", got, want)
	}
}

func TestHMACDefaults(t *testing.T) {
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	summer := time.Date(2026, 7, 1, 13, 0, 0, 0, london) // BST
	h, err := HMAC{Key: "k", Secret: "s", Now: summer}.Sign(HMACRequest{Method: "POST", RequestURI: "/x?a=1", Body: []byte("b")})
	if err != nil {
		t.Fatal(err)
	}
	if h.Date != "Wed, 01 Jul 2026 12:00:00 GMT" {
		t.Errorf("date %q is not the GMT form", h.Date)
	}
	if !strings.Contains(h.Authorization, `headers="date request-line digest"`) || h.Digest != Digest([]byte("b")) {
		t.Errorf("defaults with a body: %+v", h)
	}
	if want := "date: Wed, 01 Jul 2026 12:00:00 GMT\nPOST /x?a=1 HTTP/1.1\ndigest: " + Digest([]byte("b")); h.SigningString != want {
		t.Errorf("signing string %q", h.SigningString)
	}
}

func TestHMACErrors(t *testing.T) {
	tests := map[string]HMAC{
		"unknown algorithm":   {Key: "k", Secret: "s", Algorithm: "hmac-md5"},
		"no key":              {Secret: "s"},
		"no secret":           {Key: "k"},
		"quote in key":        {Key: `k"`, Secret: "s"},
		"empty header list":   {Key: "k", Secret: "s", Headers: []string{}},
		"listed header unset": {Key: "k", Secret: "s", Headers: []string{"date", "x-custom"}},
	}
	for name, s := range tests {
		if _, err := s.Sign(HMACRequest{Method: "GET", RequestURI: "/"}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestSignRequest(t *testing.T) {
	req, _ := http.NewRequest("POST", "https://api.example.com/orders?id=7", strings.NewReader(`{"a":1}`))
	req.Header.Set("X-Request-Id", "r1")
	s := HMAC{Key: "k", Secret: "s", Headers: []string{"x-date", "host", "request-line", "digest", "x-request-id"}, Now: time.Unix(0, 0)}
	if err := s.SignRequest(req); err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(req.Body)
	if string(body) != `{"a":1}` {
		t.Errorf("body consumed: %q", body)
	}
	if req.Header.Get("X-Date") != "Thu, 01 Jan 1970 00:00:00 GMT" || req.Header.Get("Date") != "" || req.Header.Get("Digest") != Digest(body) {
		t.Errorf("headers %v", req.Header)
	}
	h, _ := s.Sign(HMACRequest{Method: "POST", RequestURI: "/orders?id=7", Host: "api.example.com", Header: req.Header, Body: body})
	if req.Header.Get("Authorization") != h.Authorization || !strings.Contains(h.SigningString, "host: api.example.com\n") {
		t.Errorf("authorization %q, signing string %q", req.Header.Get("Authorization"), h.SigningString)
	}
}

func TestParamSeedVectors(t *testing.T) {
	p := []Param{{"param1", "123"}, {"param2", "Abc"}, {"appKey", "foobar"}, {"pampasCall", "query.coupon"}}
	if got := ParamSignature(p, "my.secret"); got != "d6fee3145be668425f70878084f9d39fce3f7c5fca283ffc4c5d5a5568077334e9a50526e7e806758a66b7647ae9951f9324a0f921e28417e07d69beed79f7ef" {
		t.Errorf("query vector: %s", got)
	}
	u, err := Params{Key: "foobar", Secret: "my.secret"}.SignURL("https://domain.com/?param1=123&param2=Abc&pampasCall=query.coupon")
	if want := "https://domain.com/?param1=123&param2=Abc&pampasCall=query.coupon&appKey=foobar&sign=d6fee3145be668425f70878084f9d39fce3f7c5fca283ffc4c5d5a5568077334e9a50526e7e806758a66b7647ae9951f9324a0f921e28417e07d69beed79f7ef"; err != nil || u != want {
		t.Errorf("SignURL = %q, %v", u, err)
	}
	s, err := Params{Key: "foobar", Secret: "my.secret"}.Sign(ParamRequest{URL: "https://domain.com", ContentType: ContentJSON, Body: []byte(`{"userName":"abc","gender":"male"}`)}, InBody)
	if err != nil {
		t.Fatal(err)
	}
	var env map[string]any
	if err := json.Unmarshal(s.Body, &env); err != nil {
		t.Fatal(err)
	}
	if env["sign"] != "ec23eeda5f88abe26311ed020439172eea409e3475875c87e9abfa8a6856138e767608e8497435f573ccb417a90448c78abdca4a0de12c4da4583aa3add7bf52" ||
		env["data"] != `{"userName":"abc","gender":"male"}` || env["appKey"] != "foobar" || len(env) != 3 || s.URL != "https://domain.com" {
		t.Errorf("envelope %s, url %s", s.Body, s.URL)
	}
}

func TestParamPlacements(t *testing.T) {
	p := Params{Key: "k", Secret: "s", Timestamp: time.Unix(1581565619, 0)}
	form, err := p.Sign(ParamRequest{URL: "/x?q=1", ContentType: ContentForm, Body: []byte("a=b+c")}, InBody)
	if err != nil {
		t.Fatal(err)
	}
	if form.URL != "/x?q=1" || !bytes.HasPrefix(form.Body, []byte("a=b+c&appKey=k&apiTimestamp=1581565619&sign=")) || form.Canonical != "a=b c&apiTimestamp=1581565619&appKey=k&q=1" {
		t.Errorf("form in body: %+v", form)
	}
	q, err := p.Sign(ParamRequest{URL: "/x", ContentType: ContentJSON, Body: []byte(`{"a":1}`)}, InQuery)
	if err != nil {
		t.Fatal(err)
	}
	if string(q.Body) != `{"a":1}` || !strings.HasPrefix(q.URL, "/x?appKey=k&apiTimestamp=1581565619&sign=") || q.Canonical != `apiTimestamp=1581565619&appKey=k&data={"a":1}` {
		t.Errorf("json in query: %+v", q)
	}
	env, _ := p.Sign(ParamRequest{URL: "/x", ContentType: ContentJSON, Body: []byte(`{"a":1}`)}, InBody)
	if !bytes.HasPrefix(env.Body, []byte(`{"data":"{\"a\":1}","appKey":"k","apiTimestamp":1581565619,"sign":"`)) {
		t.Errorf("envelope %s", env.Body)
	}

	bad := map[string]ParamRequest{
		"appKey already in the URL":   {URL: "/x?appKey=k"},
		"sign already in the body":    {URL: "/x", ContentType: ContentForm, Body: []byte("sign=1")},
		"bad encoding":                {URL: "/x?a=%zz"},
		"body of another type":        {URL: "/x", ContentType: "text/plain", Body: []byte("hi")},
		"body without a content type": {URL: "/x", Body: []byte("hi")},
	}
	for name, r := range bad {
		if _, err := p.Sign(r, InQuery); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := p.Sign(ParamRequest{URL: "/x"}, InBody); err == nil {
		t.Error("InBody without a body: no error")
	}
}
