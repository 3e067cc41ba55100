//! End to end: the real `roleguard-lambda` binary behind a real Lambda Runtime
//! API (`cargo lambda watch`), invoked with `cargo lambda invoke`, acting on a
//! real IAM API (moto). cargo-lambda comes from requirements-test.txt.

use super::moto::{create_role, Moto, LAMBDA_TRUST};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `cargo lambda watch` and everything it starts, stopped on drop.
struct Watch {
    child: Child,
}

impl Drop for Watch {
    fn drop(&mut self) {
        // The watcher runs the build and the function as children: end its
        // process group with the system call itself. Never through the `kill`
        // command: procps reads `kill -TERM -188888` as `kill(-1, SIGTERM)`,
        // which signals every process on the machine.
        let pgid = self.child.id() as libc::pid_t;
        if pgid > 1 {
            // SAFETY: kill(2) with a negative pid signals that process group only.
            unsafe { libc::kill(-pgid, libc::SIGTERM) };
        }
        // Give the watcher time to stop the function it started in a session
        // of its own, then make sure.
        let deadline = Instant::now() + Duration::from_secs(10);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn cargo_with_venv() -> Command {
    let mut cmd = Command::new(env!("CARGO"));
    let venv = super::root().join(".venv/bin");
    let path = std::env::var("PATH").unwrap_or_default();
    cmd.env("PATH", format!("{}:{path}", venv.display()))
        .current_dir(super::root());
    cmd
}

#[tokio::test]
async fn lambda_binary_reverts_through_the_runtime_api() {
    use std::os::unix::process::CommandExt;
    let moto = Moto::start();
    let iam = moto.iam();
    create_role(&iam, "app-lambda", LAMBDA_TRUST).await;
    let admin = "arn:aws:iam::aws:policy/AdministratorAccess";
    iam.attach_role_policy()
        .role_name("app-lambda")
        .policy_arn(admin)
        .send()
        .await
        .unwrap();

    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let log_path = std::env::temp_dir().join(format!("roleguard-watch-{port}.log"));
    let log = std::fs::File::create(&log_path).unwrap();
    // The scan's queue and dead-letter queue, as the template makes them.
    let sqs = aws_sdk_sqs::Client::new(&moto.sdk_config().await);
    let mut urls = vec![];
    for name in ["roleguard-scan", "roleguard-scan-dlq"] {
        let out = sqs.create_queue().queue_name(name).send().await.unwrap();
        urls.push(out.queue_url().unwrap().to_string());
    }
    let env = format!(
        "AWS_ENDPOINT_URL={},AWS_ACCESS_KEY_ID=testing,AWS_SECRET_ACCESS_KEY=testing,AWS_REGION=us-east-1,ROLEGUARD_MODE=enforce,AWS_LAMBDA_LOG_FORMAT=JSON,ROLEGUARD_SCAN_QUEUE_URL={},ROLEGUARD_SCAN_DLQ_URL={}",
        moto.endpoint, urls[0], urls[1]
    );
    let _watch = Watch {
        child: cargo_with_venv()
            .args([
                "lambda",
                "watch",
                "--bin",
                "roleguard-lambda",
                "-P",
                &port,
                "--env-var",
                &env,
            ])
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .stdin(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("cargo lambda watch: run scripts/test, which installs cargo-lambda into .venv"),
    };
    // The first invocation waits for the watcher to build the function.
    let deadline = Instant::now() + Duration::from_secs(900);
    let out = loop {
        let out = cargo_with_venv()
            .args([
                "lambda",
                "invoke",
                "roleguard-lambda",
                "-P",
                &port,
                "--data-file",
                "events/attach-admin.noncompliant.json",
                "-o",
                "json",
            ])
            .output()
            .unwrap();
        if out.status.success() {
            break out;
        }
        assert!(
            Instant::now() < deadline,
            "no answer from the function: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
    };
    let reply: serde_json::Value = serde_json::from_slice(&out.stdout).expect("the reply is JSON");
    assert_eq!(reply["verdict"], "handled");
    assert_eq!(reply["event_id"], "eb-0006");
    assert_eq!(reply["results"][0]["step"]["action"], "detach_role_policy");
    let attached = iam
        .list_attached_role_policies()
        .role_name("app-lambda")
        .send()
        .await
        .unwrap();
    assert!(
        attached.attached_policies().is_empty(),
        "the function detached the policy"
    );
    let tags = iam
        .list_role_tags()
        .role_name("app-lambda")
        .send()
        .await
        .unwrap();
    assert!(tags
        .tags()
        .iter()
        .any(|t| t.key() == "roleguard:status" && t.value() == "reverted"));
    // JSON logs: the whole outcome, then one summary line for the event.
    let logs = std::fs::read_to_string(&log_path).unwrap();
    let lines: Vec<serde_json::Value> = logs
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let outcome = lines
        .iter()
        .find(|l| l["fields"]["message"] == "outcome")
        .expect("an outcome line");
    let outcome: serde_json::Value =
        serde_json::from_str(outcome["fields"]["outcome"].as_str().unwrap()).unwrap();
    assert_eq!(outcome["event_id"], "eb-0006");
    let handled = lines
        .iter()
        .find(|l| l["fields"]["message"] == "handled")
        .expect("a summary line");
    assert_eq!(handled["fields"]["role"], "app-lambda");
    assert_eq!(
        handled["fields"]["actions"],
        "detach_role_policy:done tag_role:done notify:skipped"
    );

    // The schedule puts one message per account on the queue; a batch of
    // the queue (that message, and one that is no job) is answered with
    // exactly the partial-batch response: nothing to try again (the scan
    // succeeded; the bad message went to the dead-letter queue).
    let invoke = |data: &std::path::Path| {
        let out = cargo_with_venv()
            .args([
                "lambda",
                "invoke",
                "roleguard-lambda",
                "-P",
                &port,
                "--data-file",
            ])
            .arg(data)
            .args(["-o", "json"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("the reply is JSON")
    };
    let scratch = std::env::temp_dir().join(format!("roleguard-e2e-{port}"));
    std::fs::create_dir_all(&scratch).unwrap();
    let scheduled = scratch.join("scheduled.json");
    std::fs::write(
        &scheduled,
        serde_json::json!({"version": "0", "id": "sched-1", "detail-type": "Scheduled Event",
            "source": "aws.events", "account": "111122223333", "time": "2026-11-28T03:00:00Z",
            "region": "us-east-1", "resources": [], "detail": {}})
        .to_string(),
    )
    .unwrap();
    let reply = invoke(&scheduled);
    assert_eq!(reply["verdict"], "enqueued", "{reply}");
    assert_eq!(reply["accounts"], 1, "{reply}");
    let got = sqs
        .receive_message()
        .queue_url(&urls[0])
        .max_number_of_messages(10)
        .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
        .send()
        .await
        .unwrap();
    let message = &got.messages()[0];
    let record = |id: &str, body: &str| {
        serde_json::json!({"messageId": id, "receiptHandle": "rh", "body": body,
            "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
            "md5OfBody": "", "eventSource": "aws:sqs", "awsRegion": "us-east-1",
            "eventSourceARN": "arn:aws:sqs:us-east-1:111122223333:roleguard-scan"})
    };
    let batch = scratch.join("batch.json");
    std::fs::write(
        &batch,
        serde_json::json!({"Records": [
            record(message.message_id().unwrap(), message.body().unwrap()),
            record("m-bad", "not a job"),
        ]})
        .to_string(),
    )
    .unwrap();
    assert_eq!(invoke(&batch), serde_json::json!({"batchItemFailures": []}));
    let dead = sqs
        .receive_message()
        .queue_url(&urls[1])
        .send()
        .await
        .unwrap();
    assert_eq!(dead.messages().len(), 1);
    assert!(dead.messages()[0]
        .body()
        .unwrap()
        .contains("is not a scan job"));
}
