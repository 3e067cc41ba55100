//! A real moto server for a test: started on a free port, stopped on drop.
//!
//! `moto_server` is found through `MOTO_SERVER`, then `.venv/bin/moto_server`
//! (what `scripts/test` installs), then `PATH`.

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The account moto plays: the sample events' account.
pub const ACCOUNT: &str = "111122223333";
/// moto's own default account.
pub const DEFAULT_ACCOUNT: &str = "123456789012";

pub struct Moto {
    child: Child,
    pub endpoint: String,
}

fn binary() -> String {
    if let Ok(path) = std::env::var("MOTO_SERVER") {
        return path;
    }
    let venv = super::root().join(".venv/bin/moto_server");
    if venv.exists() {
        return venv.display().to_string();
    }
    "moto_server".into()
}

impl Moto {
    /// A server whose default account is [`ACCOUNT`].
    pub fn start() -> Moto {
        Moto::spawn(Some(ACCOUNT), true)
    }

    /// A server for tests that cross accounts: its default account is moto's
    /// own, [`DEFAULT_ACCOUNT`]. (With `MOTO_ACCOUNT_ID` set, moto 5.2.5 keeps
    /// the requests made with assumed-role credentials in the default account.)
    pub fn start_multi_account() -> Moto {
        Moto::spawn(None, true)
    }

    /// A server for many accounts, without AWS's managed policies: moto
    /// loads them into every account it meets (seconds each), so a test of
    /// fifty accounts uses inline policies instead.
    pub fn start_many_accounts() -> Moto {
        Moto::spawn(None, false)
    }

    fn spawn(account: Option<&str>, managed_policies: bool) -> Moto {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut cmd = Command::new(binary());
        cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()]).env(
            "MOTO_IAM_LOAD_MANAGED_POLICIES",
            managed_policies.to_string(),
        );
        if let Some(account) = account {
            cmd.env("MOTO_ACCOUNT_ID", account);
        }
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start moto_server ({e}): run scripts/test, which installs it into .venv"));
        let moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto_server did not start within 60 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        moto
    }

    /// The SDK configuration for this server, with credentials of its default
    /// account, loaded as the function loads its own.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        self.sdk_config_with(aws_sdk_iam::config::Credentials::new(
            "testing", "testing", None, None, "moto",
        ))
        .await
    }

    pub async fn sdk_config_with(
        &self,
        credentials: aws_sdk_iam::config::Credentials,
    ) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .endpoint_url(&self.endpoint)
            .credentials_provider(credentials)
            .retry_config(roleguard::adapters::retry_config())
            .load()
            .await
    }

    /// An IAM client for this server, in its default account.
    pub fn iam(&self) -> aws_sdk_iam::Client {
        use aws_sdk_iam::config::{BehaviorVersion, Credentials, Region};
        let config = aws_sdk_iam::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(&self.endpoint)
            .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
            .build();
        aws_sdk_iam::Client::from_conf(config)
    }

    /// An IAM client in another account: moto puts the requests made with a
    /// role's temporary credentials in that role's account.
    pub async fn iam_in(&self, account: &str) -> aws_sdk_iam::Client {
        let sts = aws_sdk_sts::Client::new(&self.sdk_config().await);
        let out = sts
            .assume_role()
            .role_arn(format!("arn:aws:iam::{account}:role/test-admin"))
            .role_session_name("test")
            .send()
            .await
            .unwrap();
        let c = out.credentials().unwrap();
        let creds = aws_sdk_iam::config::Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_string()),
            None,
            "moto-member",
        );
        aws_sdk_iam::Client::new(&self.sdk_config_with(creds).await)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The trust policy of a Lambda function's role.
pub const LAMBDA_TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

/// Create a role with this trust policy.
pub async fn create_role(iam: &aws_sdk_iam::Client, name: &str, trust: &str) {
    iam.create_role()
        .role_name(name)
        .assume_role_policy_document(trust)
        .send()
        .await
        .unwrap();
}

/// An inline policy's document, decoded.
pub async fn inline_policy(iam: &aws_sdk_iam::Client, role: &str, name: &str) -> serde_json::Value {
    let out = iam
        .get_role_policy()
        .role_name(role)
        .policy_name(name)
        .send()
        .await
        .unwrap();
    roleguard::policy::decode(out.policy_document()).unwrap()
}

/// The managed policies attached to a role.
pub async fn attached(iam: &aws_sdk_iam::Client, role: &str) -> Vec<String> {
    iam.list_attached_role_policies()
        .role_name(role)
        .send()
        .await
        .unwrap()
        .attached_policies()
        .iter()
        .filter_map(|p| p.policy_arn().map(String::from))
        .collect()
}

impl Moto {
    /// The audit table as template.yaml makes it (a string key `pk`, TTL on
    /// `expires_at`), and roleguard's store on it.
    pub async fn audit_table(&self, name: &str) -> roleguard::adapters::dynamodb::DynamoStore {
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
            TimeToLiveSpecification,
        };
        let sdk = self.sdk_config().await;
        let ddb = aws_sdk_dynamodb::Client::new(&sdk);
        ddb.create_table()
            .table_name(name)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("pk")
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .unwrap(),
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("pk")
                    .key_type(KeyType::Hash)
                    .build()
                    .unwrap(),
            )
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await
            .unwrap();
        ddb.update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name("expires_at")
                    .enabled(true)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        roleguard::adapters::dynamodb::DynamoStore::new(&sdk, Some(name.into()))
    }
}
