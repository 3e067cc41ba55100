//! The privilege-escalation paths that rule `perm-privilege-escalation` looks
//! for: sets of actions that, granted together on unconstrained resources,
//! let a principal gain more than it was given.
//!
//! Each row: a stable id, the actions that must all be granted, the
//! severity, and how the path works. Sources: Rhino Security Labs' AWS
//! privilege-escalation methods, Bishop Fox's iam-vulnerable, and the AWS
//! documentation of each action. A test checks every action against the
//! catalog, so a typo here cannot silently disable a path.
//!
//! An action written `+service:Action` acts on a *new* resource that the
//! attacker names (any name the policy admits will do); the others act on
//! existing resources, and must reach every resource of their type (an
//! administrator role is some role; the attacker does not choose which).
//! A `passrole-*` path passes the role to the services in [`passed_to`].
//!
//! Kinds of path:
//! - `iam-*`: change one's own or another identity's policies, credentials or
//!   trust directly (critical);
//! - `passrole-*`: pass an existing, more powerful role to a compute or
//!   orchestration service and run code as it (high);
//! - `code-*`: change code or run commands on existing resources that already
//!   run as some role (high);
//! - `idp-*`, `sso-*`, `eks-*`: take over an identity provider or an
//!   access-assignment system (high).

use crate::rules::Severity;
use Severity::{Critical, High};

pub struct Path {
    pub id: &'static str,
    pub actions: &'static [&'static str],
    pub severity: Severity,
    pub how: &'static str,
}

impl Path {
    /// The path's actions, each with whether it acts on a new resource.
    pub fn steps(&self) -> impl Iterator<Item = (&'static str, bool)> {
        self.actions
            .iter()
            .map(|a| a.strip_prefix('+').map_or((*a, false), |a| (a, true)))
    }
    /// The actions' names, as `iam:PassRole + lambda:CreateFunction`.
    pub fn shown(&self) -> String {
        self.steps().map(|(a, _)| a).collect::<Vec<_>>().join(" + ")
    }
}

/// Each path's actions as catalog ids (in [`PATHS`] order); a path with an
/// action the catalog lacks has fewer ids than actions.
pub fn path_ids() -> &'static [Vec<crate::catalog::ActionId>] {
    static IDS: std::sync::OnceLock<Vec<Vec<crate::catalog::ActionId>>> =
        std::sync::OnceLock::new();
    IDS.get_or_init(|| {
        let c = crate::catalog::catalog();
        PATHS
            .iter()
            .map(|p| p.steps().filter_map(|(a, _)| c.lookup(a)).collect())
            .collect()
    })
}

/// The services a `passrole-*` path passes the role to (`iam:PassedToService`).
pub fn passed_to(path: &str) -> &'static [&'static str] {
    let service = path.strip_prefix("passrole-").unwrap_or("");
    match service.split('-').next().unwrap_or("") {
        "lambda" => &["lambda.amazonaws.com"],
        "ec2" | "autoscaling" => &["ec2.amazonaws.com"],
        "ecs" => &["ecs-tasks.amazonaws.com", "ecs.amazonaws.com"],
        "glue" => &["glue.amazonaws.com"],
        "cloudformation" => &["cloudformation.amazonaws.com"],
        "codebuild" => &["codebuild.amazonaws.com"],
        "sagemaker" => &["sagemaker.amazonaws.com"],
        "datapipeline" => &[
            "datapipeline.amazonaws.com",
            "elasticmapreduce.amazonaws.com",
        ],
        "step" => &["states.amazonaws.com"],
        "apprunner" => &[
            "apprunner.amazonaws.com",
            "tasks.apprunner.amazonaws.com",
            "build.apprunner.amazonaws.com",
        ],
        "batch" => &["batch.amazonaws.com", "ecs-tasks.amazonaws.com"],
        "emr" => &["elasticmapreduce.amazonaws.com", "ec2.amazonaws.com"],
        "mwaa" => &["airflow.amazonaws.com", "airflow-env.amazonaws.com"],
        "cognito" => &["cognito-identity.amazonaws.com"],
        "scheduler" => &["scheduler.amazonaws.com"],
        _ => &[],
    }
}

/// The actions of a path that can target the principal itself (its own
/// role, or a customer managed policy attached to it): self-escalation.
pub fn self_actions(path: &str) -> &'static [&'static str] {
    match path {
        "iam-put-role-policy" => &["iam:PutRolePolicy"],
        "iam-attach-role-policy" => &["iam:AttachRolePolicy"],
        "iam-update-assume-role-policy" => &["iam:UpdateAssumeRolePolicy"],
        "iam-put-role-boundary" => &["iam:PutRolePermissionsBoundary"],
        "iam-delete-role-boundary" => &["iam:DeleteRolePermissionsBoundary"],
        "iam-create-policy-version" => &["iam:CreatePolicyVersion"],
        "iam-set-default-policy-version" => &["iam:SetDefaultPolicyVersion"],
        "iam-put-user-policy" => &["iam:PutUserPolicy"],
        "iam-attach-user-policy" => &["iam:AttachUserPolicy"],
        "iam-put-user-boundary" => &["iam:PutUserPermissionsBoundary"],
        "iam-delete-user-boundary" => &["iam:DeleteUserPermissionsBoundary"],
        _ => &[],
    }
}

const fn p(
    id: &'static str,
    actions: &'static [&'static str],
    severity: Severity,
    how: &'static str,
) -> Path {
    Path {
        id,
        actions,
        severity,
        how,
    }
}

#[rustfmt::skip]
pub static PATHS: &[Path] = &[
    // -- IAM policies, credentials and trust ---------------------------------
    p("iam-create-policy-version", &["iam:CreatePolicyVersion"], Critical, "write a new default version of a managed policy attached to oneself"),
    p("iam-set-default-policy-version", &["iam:SetDefaultPolicyVersion"], Critical, "switch a managed policy to an older, broader version"),
    p("iam-attach-user-policy", &["iam:AttachUserPolicy"], Critical, "attach AdministratorAccess to a user one controls"),
    p("iam-attach-group-policy", &["iam:AttachGroupPolicy"], Critical, "attach AdministratorAccess to a group one is in"),
    p("iam-attach-role-policy", &["iam:AttachRolePolicy"], Critical, "attach AdministratorAccess to a role one can use"),
    p("iam-put-user-policy", &["iam:PutUserPolicy"], Critical, "write an admin inline policy on a user one controls"),
    p("iam-put-group-policy", &["iam:PutGroupPolicy"], Critical, "write an admin inline policy on a group one is in"),
    p("iam-put-role-policy", &["iam:PutRolePolicy"], Critical, "write an admin inline policy on a role one can use"),
    p("iam-add-user-to-group", &["iam:AddUserToGroup"], Critical, "join a more powerful group"),
    p("iam-update-assume-role-policy", &["iam:UpdateAssumeRolePolicy", "sts:AssumeRole"], Critical, "rewrite a powerful role's trust policy to admit oneself, then assume it"),
    p("iam-create-access-key", &["iam:CreateAccessKey"], Critical, "mint access keys for a more powerful user"),
    p("iam-create-login-profile", &["iam:CreateLoginProfile"], Critical, "give a more powerful user a console password"),
    p("iam-update-login-profile", &["iam:UpdateLoginProfile"], Critical, "reset a more powerful user's console password"),
    p("iam-delete-role-boundary", &["iam:DeleteRolePermissionsBoundary"], Critical, "remove the permissions boundary that caps a role"),
    p("iam-delete-user-boundary", &["iam:DeleteUserPermissionsBoundary"], Critical, "remove the permissions boundary that caps a user"),
    p("iam-put-role-boundary", &["iam:PutRolePermissionsBoundary"], Critical, "replace a role's boundary with a permissive one"),
    p("iam-put-user-boundary", &["iam:PutUserPermissionsBoundary"], Critical, "replace a user's boundary with a permissive one"),
    p("iam-create-role-and-attach", &["+iam:CreateRole", "+iam:AttachRolePolicy", "+sts:AssumeRole"], Critical, "create a role trusting oneself, make it admin, assume it"),
    p("iam-create-role-and-put", &["+iam:CreateRole", "+iam:PutRolePolicy", "+sts:AssumeRole"], Critical, "create a role trusting oneself, give it an admin inline policy, assume it"),
    p("iam-create-service-credential", &["iam:CreateServiceSpecificCredential"], High, "mint CodeCommit or Keyspaces credentials for another user"),
    p("iam-reset-service-credential", &["iam:ResetServiceSpecificCredential"], High, "reset another user's service-specific password"),
    p("iam-upload-ssh-key", &["iam:UploadSSHPublicKey"], High, "add an SSH key to another user for CodeCommit"),
    p("iam-mfa-takeover", &["iam:DeactivateMFADevice", "iam:EnableMFADevice"], High, "replace another user's MFA device"),
    // -- passing a role to compute or orchestration --------------------------
    p("passrole-lambda-invoke", &["iam:PassRole", "+lambda:CreateFunction", "+lambda:InvokeFunction"], High, "create a function with a powerful role and invoke it"),
    p("passrole-lambda-event-source", &["iam:PassRole", "+lambda:CreateFunction", "+lambda:CreateEventSourceMapping"], High, "create a function with a powerful role and trigger it from a stream or queue"),
    p("passrole-lambda-add-permission", &["iam:PassRole", "+lambda:CreateFunction", "+lambda:AddPermission"], High, "create a function with a powerful role and let oneself or a service invoke it"),
    p("passrole-lambda-function-url", &["iam:PassRole", "+lambda:CreateFunction", "+lambda:CreateFunctionUrlConfig"], High, "create a function with a powerful role behind a public URL"),
    p("passrole-ec2-run-instances", &["iam:PassRole", "+ec2:RunInstances"], High, "launch an instance with a powerful instance profile and read its credentials"),
    p("passrole-ec2-spot", &["iam:PassRole", "+ec2:RequestSpotInstances"], High, "request a spot instance with a powerful instance profile"),
    p("passrole-ec2-associate-profile", &["iam:PassRole", "+ec2:AssociateIamInstanceProfile"], High, "attach a powerful instance profile to an instance one controls"),
    p("passrole-ec2-replace-profile", &["iam:PassRole", "+ec2:ReplaceIamInstanceProfileAssociation"], High, "swap a powerful instance profile onto an instance one controls"),
    p("passrole-autoscaling-launch-template", &["iam:PassRole", "+ec2:CreateLaunchTemplate", "+autoscaling:CreateAutoScalingGroup"], High, "launch instances with a powerful profile through a new auto scaling group"),
    p("passrole-autoscaling-launch-configuration", &["iam:PassRole", "+autoscaling:CreateLaunchConfiguration", "+autoscaling:CreateAutoScalingGroup"], High, "launch instances with a powerful profile through a launch configuration"),
    p("passrole-ecs-run-task", &["iam:PassRole", "+ecs:RegisterTaskDefinition", "+ecs:RunTask"], High, "run a task with a powerful task role"),
    p("passrole-ecs-start-task", &["iam:PassRole", "+ecs:RegisterTaskDefinition", "+ecs:StartTask"], High, "start a task with a powerful task role"),
    p("passrole-ecs-create-service", &["iam:PassRole", "+ecs:RegisterTaskDefinition", "+ecs:CreateService"], High, "run a service whose tasks have a powerful role"),
    p("passrole-ecs-update-service", &["iam:PassRole", "+ecs:RegisterTaskDefinition", "+ecs:UpdateService"], High, "redeploy a service with a task definition carrying a powerful role"),
    p("passrole-glue-dev-endpoint", &["iam:PassRole", "+glue:CreateDevEndpoint"], High, "create a Glue development endpoint with a powerful role and log in to it"),
    p("passrole-glue-job-run", &["iam:PassRole", "+glue:CreateJob", "+glue:StartJobRun"], High, "create and run a Glue job with a powerful role"),
    p("passrole-glue-job-trigger", &["iam:PassRole", "+glue:CreateJob", "+glue:CreateTrigger"], High, "create a Glue job with a powerful role and schedule it"),
    p("passrole-glue-session", &["iam:PassRole", "+glue:CreateSession", "+glue:RunStatement"], High, "run code in an interactive Glue session with a powerful role"),
    p("passrole-cloudformation-stack", &["iam:PassRole", "+cloudformation:CreateStack"], High, "create a stack whose service role is powerful, and have it create anything"),
    p("passrole-cloudformation-update", &["iam:PassRole", "+cloudformation:UpdateStack"], High, "update a stack to run as a powerful service role"),
    p("passrole-cloudformation-change-set", &["iam:PassRole", "+cloudformation:CreateChangeSet", "+cloudformation:ExecuteChangeSet"], High, "execute a change set with a powerful service role"),
    p("passrole-cloudformation-stack-set", &["iam:PassRole", "+cloudformation:CreateStackSet", "+cloudformation:CreateStackInstances"], High, "deploy a stack set with a powerful administration role"),
    p("passrole-codebuild-build", &["iam:PassRole", "+codebuild:CreateProject", "+codebuild:StartBuild"], High, "create a build project with a powerful role and run it"),
    p("passrole-codebuild-batch", &["iam:PassRole", "+codebuild:CreateProject", "+codebuild:StartBuildBatch"], High, "create a build project with a powerful role and run a batch"),
    p("passrole-sagemaker-notebook", &["iam:PassRole", "+sagemaker:CreateNotebookInstance", "+sagemaker:CreatePresignedNotebookInstanceUrl"], High, "create a notebook with a powerful role and open it"),
    p("passrole-sagemaker-training", &["iam:PassRole", "+sagemaker:CreateTrainingJob"], High, "run a training job's container with a powerful role"),
    p("passrole-sagemaker-processing", &["iam:PassRole", "+sagemaker:CreateProcessingJob"], High, "run a processing job's container with a powerful role"),
    p("passrole-datapipeline", &["iam:PassRole", "+datapipeline:CreatePipeline", "+datapipeline:PutPipelineDefinition", "+datapipeline:ActivatePipeline"], High, "run commands from a data pipeline with a powerful role"),
    p("passrole-step-functions", &["iam:PassRole", "+states:CreateStateMachine", "+states:StartExecution"], High, "run a state machine that calls AWS APIs with a powerful role"),
    p("passrole-apprunner", &["iam:PassRole", "+apprunner:CreateService"], High, "run a container service with a powerful instance role"),
    p("passrole-batch", &["iam:PassRole", "+batch:RegisterJobDefinition", "+batch:SubmitJob"], High, "submit a batch job whose container has a powerful role"),
    p("passrole-emr", &["iam:PassRole", "+elasticmapreduce:RunJobFlow"], High, "start an EMR cluster with a powerful instance profile"),
    p("passrole-mwaa", &["iam:PassRole", "+airflow:CreateEnvironment"], High, "create an Airflow environment with a powerful execution role"),
    p("passrole-scheduler", &["iam:PassRole", "+scheduler:CreateSchedule"], High, "schedule a call of any AWS API made with a powerful role"),
    p("passrole-cognito-identity-pool", &["iam:PassRole", "+cognito-identity:SetIdentityPoolRoles"], High, "make a powerful role the identity pool's role and obtain its credentials"),
    // -- changing code that already runs as a role ---------------------------
    p("code-lambda-update-code", &["lambda:UpdateFunctionCode"], High, "replace an existing function's code and run as its role"),
    p("code-lambda-update-configuration", &["lambda:UpdateFunctionConfiguration"], High, "add a malicious layer or environment to an existing function"),
    p("code-glue-update-dev-endpoint", &["glue:UpdateDevEndpoint"], High, "add one's SSH key to an existing Glue development endpoint"),
    p("code-glue-update-job", &["glue:UpdateJob", "glue:StartJobRun"], High, "change an existing Glue job's script and run it"),
    p("code-ssm-send-command", &["ssm:SendCommand"], High, "run commands on managed instances and read their role credentials"),
    p("code-ssm-start-session", &["ssm:StartSession"], High, "open a shell on managed instances"),
    p("code-ec2-instance-connect", &["ec2-instance-connect:SendSSHPublicKey"], High, "push an SSH key to instances and log in"),
    p("code-ec2-serial-console", &["ec2-instance-connect:SendSerialConsoleSSHPublicKey"], High, "log in to instances through the serial console"),
    p("code-ec2-user-data", &["ec2:ModifyInstanceAttribute", "ec2:StopInstances", "ec2:StartInstances"], High, "rewrite an instance's user data and restart it to run code as its role"),
    p("code-codebuild-start-build", &["codebuild:StartBuild"], High, "start an existing project with a buildspec override, running as its role"),
    p("code-codebuild-update-project", &["codebuild:UpdateProject", "codebuild:StartBuild"], High, "change an existing project's commands and run it"),
    p("code-sagemaker-notebook-url", &["sagemaker:CreatePresignedNotebookInstanceUrl"], High, "open an existing notebook and act as its role"),
    p("code-sagemaker-lifecycle", &["sagemaker:CreateNotebookInstanceLifecycleConfig", "sagemaker:UpdateNotebookInstance"], High, "add a start-up script to an existing notebook"),
    p("code-ecs-execute-command", &["ecs:ExecuteCommand"], High, "open a shell in running containers and use their task role"),
    p("code-ecs-run-task-override", &["ecs:RunTask"], High, "run an existing task definition with a command override, as its task role"),
    p("code-cloudformation-update-stack", &["cloudformation:UpdateStack"], High, "update an existing stack's template; its service role creates what the template says"),
    p("code-cloudformation-change-set", &["cloudformation:CreateChangeSet", "cloudformation:ExecuteChangeSet"], High, "change an existing stack through a change set run by its service role"),
    p("code-codebuild-start-build-batch", &["codebuild:StartBuildBatch"], High, "start a batch of an existing project with a buildspec override, running as its role"),
    p("code-apprunner-update-service", &["apprunner:UpdateService"], High, "change an existing App Runner service's image or start command, running as its instance role"),
    p("code-ec2-launch-template", &["ec2:CreateLaunchTemplateVersion", "ec2:ModifyLaunchTemplate"], High, "make a launch template's default version run one's user data; instances launched from it run as its profile"),
    p("code-ssm-create-association", &["ssm:CreateAssociation"], High, "associate a command document with managed instances and run as their role"),
    p("code-step-functions-update", &["states:UpdateStateMachine", "states:StartExecution"], High, "rewrite an existing state machine and run it as its role"),
    p("code-sagemaker-domain-url", &["sagemaker:CreatePresignedDomainUrl"], High, "open SageMaker Studio as any user profile and act as its execution role"),
    p("code-bedrock-agentcore-code-interpreter", &["bedrock-agentcore:StartCodeInterpreterSession", "bedrock-agentcore:InvokeCodeInterpreter"], High, "run code in an existing AgentCore code interpreter, as its execution role"),
    // -- identity providers and access assignment ---------------------------
    p("idp-update-saml-provider", &["iam:UpdateSAMLProvider"], High, "replace a SAML provider's metadata with one's own and sign in as any federated role"),
    p("idp-oidc-client-id", &["iam:AddClientIDToOpenIDConnectProvider"], High, "accept one's own client's tokens for roles trusting the provider"),
    p("idp-oidc-thumbprint", &["iam:UpdateOpenIDConnectProviderThumbprint"], High, "trust one's own identity provider's certificate"),
    p("sso-account-assignment", &["sso:CreateAccountAssignment"], High, "assign oneself a powerful permission set in any account"),
    p("sso-attach-managed-policy", &["sso:AttachManagedPolicyToPermissionSet", "sso:ProvisionPermissionSet"], High, "add AdministratorAccess to a permission set one holds"),
    p("sso-put-inline-policy", &["sso:PutInlinePolicyToPermissionSet", "sso:ProvisionPermissionSet"], High, "add an admin inline policy to a permission set one holds"),
    p("sso-group-membership", &["identitystore:CreateGroupMembership"], High, "join an Identity Center group with powerful assignments"),
    p("eks-access-entry", &["eks:CreateAccessEntry", "eks:AssociateAccessPolicy"], High, "grant oneself cluster-admin on an EKS cluster"),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::catalog;

    #[test]
    fn every_path_is_real() {
        assert!(PATHS.len() >= 60, "{} paths", PATHS.len());
        let mut ids: Vec<_> = PATHS.iter().map(|p| p.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), PATHS.len(), "duplicate path ids");
        for path in PATHS {
            assert!(!path.actions.is_empty() && !path.how.is_empty());
            for (a, _) in path.steps() {
                assert!(
                    catalog().lookup(a).is_some(),
                    "{}: {a} is not in the catalog",
                    path.id
                );
            }
        }
    }
}
