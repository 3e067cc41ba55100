//! Slack's incoming webhook over HTTPS, with a per-attempt timeout and a
//! burst limit.

use aws_config::SdkConfig;
use std::sync::OnceLock;
use std::time::Duration;

/// One POST to Slack's webhook at most this long: a webhook that accepts
/// the connection and never answers costs three of these plus the backoff
/// (about 16 s), never the invocation's 300 s. The other channels are sent
/// at the same time and do not wait for it.
pub const SLACK_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);

/// Slack's incoming webhook.
pub struct Slack {
    parameter: String,
    config: SdkConfig,
    url: tokio::sync::OnceCell<String>,
    http: OnceLock<Result<HttpsClient, String>>,
    burst: crate::notify::Burst,
    attempt_timeout: Duration,
}

type HttpsClient = hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    http_body_util::Full<hyper::body::Bytes>,
>;

/// An HTTPS (and, for tests, HTTP) client with the system's roots.
fn https_client() -> Result<HttpsClient, String> {
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(rustls::crypto::aws_lc_rs::default_provider())
        .map_err(|e| format!("no TLS roots: {e}"))?
        .https_or_http()
        .enable_http1()
        .build();
    Ok(
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build(https),
    )
}

impl Slack {
    /// Slack through an incoming webhook whose URL is kept in a secret:
    /// `ssm:NAME` for an SSM SecureString, otherwise a Secrets Manager secret's
    /// name (read through SSM's `/aws/reference/secretsmanager/` path). The
    /// URL is read once per container, on the first alert, and never logged.
    pub fn new(config: &SdkConfig, secret: &str) -> Slack {
        Slack {
            parameter: match secret.strip_prefix("ssm:") {
                Some(name) => name.to_string(),
                None => format!("/aws/reference/secretsmanager/{secret}"),
            },
            config: config.clone(),
            url: tokio::sync::OnceCell::new(),
            http: OnceLock::new(),
            burst: crate::notify::Burst::new(crate::notify::SLACK_PER_MINUTE, 60),
            attempt_timeout: SLACK_ATTEMPT_TIMEOUT,
        }
    }

    /// How long one POST may take (connect, send and answer) before it
    /// counts as failed.
    pub fn set_attempt_timeout(&mut self, attempt: Duration) {
        self.attempt_timeout = attempt;
    }

    pub async fn send(&self, alert: &crate::notify::Alert, now: i64) -> Result<(), String> {
        let held = match self.burst.admit(alert, now) {
            crate::notify::Gate::Hold => return Ok(()),
            crate::notify::Gate::Send(held) => held,
        };
        let url = self
            .url
            .get_or_try_init(|| super::ssm::parameter(&self.config, &self.parameter))
            .await
            .map_err(|e| format!("the webhook secret: {e}"))?;
        let body = crate::notify::slack_with(alert, held.as_ref()).to_string();
        let client = self.http.get_or_init(https_client).as_ref()?;
        post_json(client, url, body, self.attempt_timeout).await
    }
}

/// POST a JSON body; 2xx is delivered. Throttling (429), 5xx and connection
/// errors, and an attempt with no answer within `attempt_timeout`, are tried
/// 3 times with backoff. Errors never name the URL (a
/// webhook URL is a secret).
async fn post_json(
    client: &HttpsClient,
    url: &str,
    body: String,
    attempt_timeout: Duration,
) -> Result<(), String> {
    use http_body_util::Full;
    use hyper::body::Bytes;
    let uri: hyper::Uri = url
        .parse()
        .map_err(|_| "the webhook URL in the secret is not a URL".to_string())?;
    let mut last = String::new();
    for attempt in 0..3u32 {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(250 << attempt)).await;
        }
        let req = hyper::Request::post(uri.clone())
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body.clone())))
            .map_err(|e| e.to_string())?;
        let Ok(answer) = tokio::time::timeout(attempt_timeout, client.request(req)).await else {
            last = format!("no answer within {} ms", attempt_timeout.as_millis());
            continue;
        };
        match answer {
            Ok(resp) if resp.status().is_success() => return Ok(()),
            Ok(resp) => {
                last = format!("HTTP {}", resp.status().as_u16());
                let status = resp.status();
                if !(status.is_server_error() || status.as_u16() == 429) {
                    return Err(last);
                }
            }
            Err(e) => {
                last = if e.is_connect() {
                    "cannot connect".into()
                } else {
                    "the request failed".into()
                }
            }
        }
    }
    Err(format!("{last} after 3 attempts"))
}
