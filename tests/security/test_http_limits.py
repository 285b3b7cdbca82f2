"""Issue 11.7: the chunked-body 413 message showed a literal `{limit}`; an unreadable body answered a generic
HTTP_ERROR instead of MALFORMED_BODY."""

from tests.conftest import problem_code


def test_a_streamed_body_over_the_limit_names_the_limit(client, app):
    limit = app.state.settings.max_body_bytes

    def chunks():  # no Content-Length: the limit is found while the body streams
        for _ in range(limit // 1000 + 5):
            yield b"x" * 1000

    for lang, unit in (("zh-CN", "字节"), ("en", "bytes")):
        r = client.post("/api/v1/auth/login", content=chunks(),
                        headers={"content-type": "application/json", "accept-language": lang})
        assert r.status_code == 413 and problem_code(r) == "BODY_TOO_LARGE"
        assert "{limit}" not in r.text and f"{limit} {unit}" in r.json()["detail"].replace("（上限 ", " ")
        assert r.json()["limit"] == limit


def test_a_streamed_upload_over_its_limit_names_the_limit(client, app, customer):
    _, headers, _ = customer
    limit = app.state.settings.max_upload_bytes
    boundary = "b0undary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"rx.png\"\r\n"
            "Content-Type: image/png\r\n\r\n").encode()

    def chunks():
        yield head
        for _ in range(limit // 100_000 + 5):
            yield b"\x89" * 100_000

    r = client.post("/api/v1/prescriptions", content=chunks(),
                    headers={**headers, "content-type": f"multipart/form-data; boundary={boundary}"})
    assert r.status_code == 413 and problem_code(r) == "BODY_TOO_LARGE"
    assert str(limit) in r.json()["detail"] and "{limit}" not in r.text


def test_a_body_that_is_not_utf8_is_malformed(client):
    r = client.post("/api/v1/auth/login", content=b'{"login": "\xff\xfe", "password": "x"}',
                    headers={"content-type": "application/json"})
    assert r.status_code == 400 and problem_code(r) == "MALFORMED_BODY"
