from modelverify.redact import redact_args, redact_text


def test_redact_args_hides_secret_flag_values() -> None:
    args = ["vllm", "serve", "m", "--api-key", "sk-secret", "--hf-token=hf_abc", "--port", "8000"]
    out = redact_args(args)
    assert "sk-secret" not in " ".join(out) and "hf_abc" not in " ".join(out)
    assert out[-2:] == ["--port", "8000"]


def test_redact_text_masks_known_secrets_bearer_and_url_credentials() -> None:
    text = "Authorization: Bearer sk-abcdef url http://user:pw@host:8000/v1 key sk-abcdef"
    out = redact_text(text, ["sk-abcdef"])
    assert "sk-abcdef" not in out and "user:pw" not in out
    assert "http://***@host:8000/v1" in out
