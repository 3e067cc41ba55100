//! AWS managed policies that AWS services require on the roles they use.
//!
//! A role a service assumes needs these to work: EKS will not run a cluster
//! without `AmazonEKSClusterPolicy` on the cluster role, nodes do not join
//! without the worker-node policies, a function logs nothing without
//! `AWSLambdaBasicExecutionRole`. roleguard still judges what they grant
//! (their findings are reported and the role tagged), but never detaches one
//! from a role whose trust policy lets that service assume it: a guard that
//! breaks working services gets switched off.
//!
//! The list is kept by hand from each service's own documentation of the
//! role it needs (the page is named with each entry), and checked against
//! the embedded snapshot of AWS managed policies by a unit test (a renamed
//! or withdrawn policy fails it).

/// (policy name, the service principals that require it, where AWS says so).
pub const REQUIRED: &[(&str, &[&str], &str)] = &[
    // Amazon EKS User Guide, "Amazon EKS cluster IAM role", "Amazon EKS node IAM role", "Auto Mode cluster IAM role".
    (
        "AmazonEKSClusterPolicy",
        &["eks.amazonaws.com"],
        "EKS cluster IAM role",
    ),
    (
        "AmazonEKSServicePolicy",
        &["eks.amazonaws.com"],
        "EKS cluster IAM role (clusters created before April 2020)",
    ),
    (
        "AmazonEKSVPCResourceController",
        &["eks.amazonaws.com"],
        "EKS security groups for pods",
    ),
    (
        "AmazonEKSComputePolicy",
        &["eks.amazonaws.com"],
        "EKS Auto Mode cluster IAM role",
    ),
    (
        "AmazonEKSBlockStoragePolicy",
        &["eks.amazonaws.com"],
        "EKS Auto Mode cluster IAM role",
    ),
    (
        "AmazonEKSLoadBalancingPolicy",
        &["eks.amazonaws.com"],
        "EKS Auto Mode cluster IAM role",
    ),
    (
        "AmazonEKSNetworkingPolicy",
        &["eks.amazonaws.com"],
        "EKS Auto Mode cluster IAM role",
    ),
    (
        "AmazonEKSWorkerNodePolicy",
        &["ec2.amazonaws.com"],
        "EKS node IAM role",
    ),
    (
        "AmazonEKSWorkerNodeMinimalPolicy",
        &["ec2.amazonaws.com"],
        "EKS Auto Mode node IAM role",
    ),
    (
        "AmazonEKS_CNI_Policy",
        &["ec2.amazonaws.com", "pods.eks.amazonaws.com"],
        "EKS node IAM role / VPC CNI",
    ),
    (
        "AmazonEC2ContainerRegistryReadOnly",
        &["ec2.amazonaws.com"],
        "EKS node IAM role",
    ),
    (
        "AmazonEC2ContainerRegistryPullOnly",
        &["ec2.amazonaws.com"],
        "EKS Auto Mode node IAM role",
    ),
    (
        "AmazonEKSFargatePodExecutionRolePolicy",
        &["eks-fargate-pods.amazonaws.com"],
        "EKS Fargate pod execution role",
    ),
    // AWS Systems Manager User Guide, "Configure instance permissions".
    (
        "AmazonSSMManagedInstanceCore",
        &["ec2.amazonaws.com", "ssm.amazonaws.com"],
        "SSM instance profile role",
    ),
    (
        "AmazonSSMAutomationRole",
        &["ssm.amazonaws.com"],
        "SSM Automation service role",
    ),
    // AWS Lambda Developer Guide, "Lambda execution role" (AWS managed policies for Lambda features).
    (
        "AWSLambdaBasicExecutionRole",
        &["lambda.amazonaws.com", "edgelambda.amazonaws.com"],
        "Lambda execution role",
    ),
    (
        "AWSLambdaVPCAccessExecutionRole",
        &["lambda.amazonaws.com"],
        "Lambda execution role in a VPC",
    ),
    (
        "AWSLambdaSQSQueueExecutionRole",
        &["lambda.amazonaws.com"],
        "Lambda with an SQS event source",
    ),
    (
        "AWSLambdaKinesisExecutionRole",
        &["lambda.amazonaws.com"],
        "Lambda with a Kinesis event source",
    ),
    (
        "AWSLambdaDynamoDBExecutionRole",
        &["lambda.amazonaws.com"],
        "Lambda with a DynamoDB stream",
    ),
    (
        "AWSLambdaMSKExecutionRole",
        &["lambda.amazonaws.com"],
        "Lambda with an MSK event source",
    ),
    // Amazon ECS Developer Guide, "Task execution IAM role", "Container instance IAM role".
    (
        "AmazonECSTaskExecutionRolePolicy",
        &["ecs-tasks.amazonaws.com"],
        "ECS task execution role",
    ),
    (
        "AmazonEC2ContainerServiceforEC2Role",
        &["ec2.amazonaws.com"],
        "ECS container instance role",
    ),
    // AWS Glue, AWS Batch, CodeDeploy, EMR, Config, API Gateway, RDS, Backup developer guides.
    (
        "AWSGlueServiceRole",
        &["glue.amazonaws.com"],
        "Glue service role",
    ),
    (
        "AWSBatchServiceRole",
        &["batch.amazonaws.com"],
        "Batch service role",
    ),
    (
        "AWSCodeDeployRole",
        &["codedeploy.amazonaws.com"],
        "CodeDeploy service role",
    ),
    (
        "AmazonElasticMapReduceRole",
        &["elasticmapreduce.amazonaws.com"],
        "EMR service role",
    ),
    (
        "AmazonElasticMapReduceforEC2Role",
        &["ec2.amazonaws.com"],
        "EMR EC2 instance profile role",
    ),
    (
        "AWS_ConfigRole",
        &["config.amazonaws.com"],
        "AWS Config service role",
    ),
    (
        "AmazonAPIGatewayPushToCloudWatchLogs",
        &["apigateway.amazonaws.com"],
        "API Gateway CloudWatch logging role",
    ),
    (
        "AmazonRDSEnhancedMonitoringRole",
        &["monitoring.rds.amazonaws.com"],
        "RDS enhanced monitoring role",
    ),
    (
        "AWSBackupServiceRolePolicyForBackup",
        &["backup.amazonaws.com"],
        "AWS Backup default service role",
    ),
    (
        "AWSBackupServiceRolePolicyForRestores",
        &["backup.amazonaws.com"],
        "AWS Backup default service role",
    ),
];

/// The services that require this AWS managed policy on their roles.
pub fn required_by(policy_arn: &str) -> Option<&'static [&'static str]> {
    if !crate::catalog::is_aws_managed_arn(policy_arn) {
        return None;
    }
    let name = policy_arn.rsplit('/').next()?;
    REQUIRED
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, services, _)| *services)
}

/// Which of `services` the trust policy lets assume the role: an Allow
/// statement naming the service principal (alone or among others).
pub fn trusted_services<'a>(trust: &serde_json::Value, services: &[&'a str]) -> Vec<&'a str> {
    let statements = match trust.get("Statement") {
        Some(serde_json::Value::Array(s)) => s.iter().collect::<Vec<_>>(),
        Some(s @ serde_json::Value::Object(_)) => vec![s],
        _ => vec![],
    };
    let mut out = Vec::new();
    for s in statements {
        if s.get("Effect").and_then(|e| e.as_str()) != Some("Allow") {
            continue;
        }
        let named: Vec<&str> = match s.pointer("/Principal/Service") {
            Some(serde_json::Value::String(one)) => vec![one.as_str()],
            Some(serde_json::Value::Array(many)) => {
                many.iter().filter_map(|v| v.as_str()).collect()
            }
            _ => vec![],
        };
        for svc in services {
            if named.iter().any(|n| n.eq_ignore_ascii_case(svc)) && !out.contains(svc) {
                out.push(*svc);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_policy_is_an_aws_managed_policy() {
        for (name, services, _) in REQUIRED {
            assert!(
                crate::catalog::managed_policy(name).is_some(),
                "{name} is not in the embedded AWS managed policies"
            );
            assert!(!services.is_empty());
        }
    }

    #[test]
    fn required_only_on_roles_of_their_service() {
        let eks = "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy";
        assert_eq!(required_by(eks), Some(&["eks.amazonaws.com"][..]));
        assert_eq!(
            required_by("arn:aws:iam::111122223333:policy/AmazonEKSClusterPolicy"),
            None
        );
        assert_eq!(
            required_by("arn:aws:iam::aws:policy/AdministratorAccess"),
            None
        );
        let trust = serde_json::json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": ["eks.amazonaws.com"]}, "Action": "sts:AssumeRole"}]});
        assert_eq!(
            trusted_services(&trust, &["eks.amazonaws.com"]),
            ["eks.amazonaws.com"]
        );
        let other = serde_json::json!({"Statement": {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}});
        assert!(trusted_services(&other, &["eks.amazonaws.com"]).is_empty());
        let denied = serde_json::json!({"Statement": [{"Effect": "Deny", "Principal": {"Service": "eks.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
        assert!(trusted_services(&denied, &["eks.amazonaws.com"]).is_empty());
    }
}
