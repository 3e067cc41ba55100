//! SSM Parameter Store: the configuration and the Slack webhook's secret.

use super::source_chain;
use aws_config::SdkConfig;
use aws_sdk_ssm::error::ProvideErrorMetadata;

/// The value of an SSM parameter (a SecureString is decrypted).
pub async fn parameter(config: &SdkConfig, name: &str) -> Result<String, String> {
    let out = aws_sdk_ssm::Client::new(config)
        .get_parameter()
        .name(name)
        .with_decryption(true)
        .send()
        .await
        .map_err(|e| match e.code() {
            Some("ParameterNotFound") => format!("SSM parameter {name} does not exist"),
            Some(code) => format!(
                "SSM parameter {name}: {code}: {}",
                e.message().unwrap_or("")
            ),
            None => format!("SSM parameter {name}: {}", source_chain(&e)),
        })?;
    out.parameter()
        .and_then(|p| p.value())
        .map(str::to_string)
        .ok_or_else(|| format!("SSM parameter {name} has no value"))
}
