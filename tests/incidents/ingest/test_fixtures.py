"""One test per fixture: the normalized fields each sender event must give.

Fixtures are named <event>__<variant>.json under tests/fixtures/webhooks/<kind>/.
"""

import pytest

from incidents.ingest.adapters import sender_for
from incidents.ingest.errors import UnsupportedEvent

from .helpers import FIXTURES, assert_sane, fixture_id, fixture_paths, headers_for

IGNORED = "ignored"

RUN_FAILURE = {
    "kind": "pipeline",
    "status": "failed",
    "external_id": "run:8812345678:2",
    "pipeline": "acme-ml/ranker: train-and-deploy",
    "run_id": "8812345678",
    "title": "Deploy ranker v42 to production",
    "sha": "4c1d9e2b7a6f5e3d2c1b0a99887766554433aa21",
    "ref": "main",
    "environment": "",
    "run_url": "https://github.com/acme-ml/ranker/actions/runs/8812345678",
    "started_at": "2025-04-14T09:20:11+00:00",
    "finished_at": "2025-04-14T09:31:47+00:00",
    "occurred_at": "2025-04-14T09:31:47+00:00",
    "failing_step": "",
    "model_name": "",
    # The head commit's time, where lead time for changes starts.
    "committed_at": "2025-04-14T09:11:50+00:00",
}
FRAUD_DEPLOYMENT = {
    "kind": "deployment",
    "external_id": "deployment:2109876543",
    "pipeline": "acme-ml/fraud-serving: deploy:model",
    "run_id": "2109876543",
    "title": "Roll out fraud-detector v17",
    "sha": "b7e4c2a19f0d8e6c5b4a3f2e1d0c9b8a7f6e5d4c",
    "ref": "release/2025-04",
    "environment": "production",
    "started_at": "2025-04-15T14:02:10+00:00",
    "model_name": "fraud-detector",
    "model_version": "17",
    "model_origin": "payload",
}
GITLAB_PIPELINE = {
    "kind": "pipeline",
    "committed_at": "2025-04-16T07:59:12+00:00",
    "pipeline": "risk/fraud-serving",
    "sha": "e3b9a7c1d5f24608b1a3c5e7f9d1b3a5c7e9f1a3",
    "ref": "main",
}
CHURN_BUILD = {
    "kind": "pipeline",
    "pipeline": "churn-predictor-deploy",
    "sha": "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678",
    "ref": "main",
    "environment": "production",
    "model_name": "churn-predictor",
    "model_version": "8",
    "model_origin": "payload",
}
RANKER_SYNCED = {
    "kind": "deployment",
    "external_id": "b0c6a3d2-51f4-4e9a-a1d8-7c3e9f2b6a10:8e1f3a5c7b9d0e2f4a6c8b0d2e4f6a8c0b2d4e61",
    "pipeline": "ml-platform/ranker-serving",
    "run_id": "8e1f3a5c7b9d0e2f4a6c8b0d2e4f6a8c0b2d4e61",
    "sha": "8e1f3a5c7b9d0e2f4a6c8b0d2e4f6a8c0b2d4e61",
    "ref": "main",
    "environment": "production",
    "started_at": "2025-04-18T12:00:10+00:00",
    "finished_at": "2025-04-18T12:01:01+00:00",
    "model_name": "ranker",
    "model_version": "43",
    "message": "",
}
FORECAST = {
    "pipeline": "forecasting: retrain-and-deploy",
    "committed_at": "2025-04-21T13:10:00+00:00",
    "title": "Deploy demand-forecaster v5 to staging",
    "sha": "c0ffee1234567890abcdef1234567890abcdef12",
    "occurred_at": "2025-04-21T13:45:09.512000+00:00",
}
FRAUD_ROLLOUT = {
    "kind": "deployment",
    "external_id": "rollout:fraud-serving/fraud-scorer:84c7d9f5b6",
    "pipeline": "argo-rollouts/fraud-scorer",
    "run_id": "84c7d9f5b6",
    "environment": "production",
    "model_name": "fraud-detector",
    "model_version": "9",
    "model_origin": "payload",
}
FRAUD_ROLLOUT_BLOCK = {
    "name": "fraud-serving/fraud-scorer:84c7d9f5b6",
    "kind": "canary",
    "candidate": "9",
    "control": "8",
    "outcome": None,
    "reason": "",
}
MLFLOW_TIME = "2025-04-22T08:15:30.125431+00:00"

EXPECTED = {
    # GitHub
    "github/workflow_run__completed_failure": RUN_FAILURE,
    "github/workflow_run__completed_success": {
        **RUN_FAILURE,
        "status": "succeeded",
        "external_id": "run:8812349999:1",
        "run_id": "8812349999",
        "title": "Deploy ranker v42 to production (retry with warm cache)",
        "run_url": "https://github.com/acme-ml/ranker/actions/runs/8812349999",
        "started_at": "2025-04-14T09:48:40+00:00",
        "finished_at": "2025-04-14T10:02:13+00:00",
        "occurred_at": "2025-04-14T10:02:13+00:00",
    },
    "github/workflow_run__requested": {
        **RUN_FAILURE,
        "status": "in_progress",
        "external_id": "run:8812345678:1",
        "started_at": "2025-04-14T09:12:03+00:00",
        "finished_at": None,
        "occurred_at": "2025-04-14T09:12:03+00:00",
    },
    "github/workflow_run__completed_cancelled": {
        **RUN_FAILURE,
        "status": "cancelled",
        "external_id": "run:8812345678:1",
        "started_at": "2025-04-14T09:12:03+00:00",
        "finished_at": "2025-04-14T09:15:00+00:00",
        "occurred_at": "2025-04-14T09:15:00+00:00",
    },
    "github/workflow_run__completed_skipped": IGNORED,
    "github/workflow_job__completed_failure": {
        "committed_at": None,  # jobs carry no commit time
        "kind": "job",
        "status": "failed",
        "external_id": "job:24123456789",
        "pipeline": "acme-ml/ranker: train-and-deploy",
        "run_id": "8812345678",
        "title": "train-and-deploy: train",
        "sha": "4c1d9e2b7a6f5e3d2c1b0a99887766554433aa21",
        "ref": "main",
        "environment": "",
        "run_url": "https://github.com/acme-ml/ranker/actions/runs/8812345678/job/24123456789",
        "started_at": "2025-04-14T09:20:15+00:00",
        "finished_at": "2025-04-14T09:29:41+00:00",
        "failing_step": "Evaluate model against baseline",
    },
    "github/workflow_job__in_progress_with_deployment": {
        "kind": "job",
        "status": "in_progress",
        "external_id": "job:24123457000",
        "title": "train-and-deploy: deploy",
        "environment": "production",
        "started_at": "2025-04-14T09:30:05+00:00",
        "finished_at": None,
        "occurred_at": "2025-04-14T09:30:05+00:00",
        "failing_step": "",
        "model_name": "",
    },
    "github/deployment_status__failure_model_payload": {
        **FRAUD_DEPLOYMENT,
        "status": "failed",
        "run_url": "https://github.com/acme-ml/fraud-serving/actions/runs/8823456789/job/24199999999",
        "finished_at": "2025-04-15T14:09:55+00:00",
        "occurred_at": "2025-04-15T14:09:55+00:00",
        "failing_step": "deploy:model",
        "message": "Canary error rate 4.2% over the 1% budget",
    },
    "github/deployment_status__failure_canary_rollout": {
        **FRAUD_DEPLOYMENT,
        "status": "failed",
        "external_id": "deployment:2109877001",
        "run_id": "2109877001",
        "title": "Canary fraud-detector v18",
        "model_version": "18",
        "message": "Canary precision 0.84 under the 0.90 floor at 10 % traffic",
        "rollout": {
            "name": "",
            "kind": "canary",
            "candidate": "18",
            "control": "17",
            "traffic_percent": 10,
            "step": 1,
            "outcome": None,
            "reason": "",
        },
    },
    "github/deployment_status__error_model_json_string": {
        "kind": "deployment",
        "status": "failed",
        "external_id": "deployment:2109877000",
        "pipeline": "acme-ml/fraud-serving: deploy",
        "title": "deploy to staging",
        "environment": "staging",
        "run_url": "https://ci.example.com/churn/builds/991",
        "finished_at": "2025-04-15T15:00:00+00:00",
        "failing_step": "deploy",
        "model_name": "churn-predictor",
        "model_version": "3",
        "message": "Helm upgrade timed out",
    },
    "github/deployment_status__success": {
        "committed_at": None,  # deployments carry no commit time
        **FRAUD_DEPLOYMENT,
        "status": "succeeded",
        "finished_at": "2025-04-15T14:20:01+00:00",
        "failing_step": "",
        "message": "Deployed",
    },
    "github/deployment_status__in_progress": {
        **FRAUD_DEPLOYMENT,
        "status": "in_progress",
        "run_url": "",
        "finished_at": None,
        "occurred_at": "2025-04-15T14:02:30+00:00",
        "message": "Rolling out",
    },
    "github/deployment_status__inactive": IGNORED,
    "github/deployment__created": {
        **FRAUD_DEPLOYMENT,
        "status": "in_progress",
        "run_url": "",
        "finished_at": None,
        "occurred_at": "2025-04-15T14:02:10+00:00",
        "message": "",
    },
    "github/ping__repository_hook": {"kind": "ping", "status": None, "occurred_at": "2025-04-10T08:00:00+00:00"},
    # GitLab
    "gitlab/pipeline_hook__failed": {
        **GITLAB_PIPELINE,
        "status": "failed",
        "external_id": "pipeline:918273",
        "run_id": "918273",
        "title": "Release fraud-detector 17",
        "environment": "production",
        "run_url": "https://gitlab.example.com/risk/fraud-serving/-/pipelines/918273",
        "started_at": "2025-04-16T08:00:04+00:00",
        "finished_at": "2025-04-16T08:21:37+00:00",
        "occurred_at": "2025-04-16T08:21:37+00:00",
        # The lint job failed first but was allowed to fail.
        "failing_step": "evaluate:offline-metrics",
        "model_name": "fraud-detector",
        "model_version": "17",
        "message": "script_failure",
    },
    "gitlab/pipeline_hook__success": {
        **GITLAB_PIPELINE,
        "status": "succeeded",
        "external_id": "pipeline:918300",
        "title": "Promote fraud-detector 17",
        "environment": "production",
        "finished_at": "2025-04-16T09:40:00+00:00",
        "failing_step": "",
        "model_name": "fraud-detector",
        "model_version": "17",
    },
    "gitlab/pipeline_hook__running": {
        **GITLAB_PIPELINE,
        "status": "in_progress",
        "external_id": "pipeline:918400",
        "title": "Nightly canary",
        # Only the canary job ran; the production one waits for a person.
        "environment": "canary",
        "run_url": "https://gitlab.example.com/risk/fraud-serving/-/pipelines/918400",
        "finished_at": None,
        "occurred_at": "2025-04-17T02:00:00+00:00",
        "model_name": "",
    },
    "gitlab/pipeline_hook__skipped": IGNORED,
    "gitlab/deployment_hook__failed": {
        "committed_at": None,
        "kind": "deployment",
        "status": "failed",
        "external_id": "deployment:3307",
        "pipeline": "risk/fraud-serving",
        "run_id": "3307",
        "title": "Promote fraud-detector 17",
        "sha": "e3b9a7c1d5f24608b1a3c5e7f9d1b3a5c7e9f1a3",
        "ref": "main",
        "environment": "production",
        "run_url": "https://gitlab.example.com/risk/fraud-serving/-/jobs/5551010",
        "finished_at": "2025-04-16T08:21:40+00:00",
        "occurred_at": "2025-04-16T08:21:40+00:00",
    },
    "gitlab/deployment_hook__running": {
        "status": "in_progress",
        "sha": "e3b9a7c1",
        "ref": "",
        "finished_at": None,
        "occurred_at": "2025-04-16T08:19:02+00:00",
    },
    "gitlab/job_hook__failed": {
        "kind": "job",
        "status": "failed",
        "external_id": "job:5551020",
        "pipeline": "risk/fraud-serving",
        "run_id": "918273",
        "title": "deploy:deploy-canary",
        "environment": "canary",
        "run_url": "https://gitlab.example.com/risk/fraud-serving/-/jobs/5551020",
        "started_at": "2025-04-16T08:22:04+00:00",
        "finished_at": "2025-04-16T08:25:31+00:00",
        "failing_step": "deploy:deploy-canary",
        "message": "script_failure",
    },
    "gitlab/build_hook__success_legacy": {
        "kind": "job",
        "status": "succeeded",
        "external_id": "job:5551021",
        "pipeline": "risk / fraud-serving",
        "title": "verify:smoke-test",
        "environment": "",
        "run_url": "https://gitlab.example.com/risk/fraud-serving/-/jobs/5551021",
        "failing_step": "",
        "message": "",
    },
    # Jenkins
    "jenkins/finalized__failure": {
        **CHURN_BUILD,
        "status": "failed",
        "external_id": "job/ml/job/churn-predictor-deploy/#212",
        "run_id": "212",
        "title": "churn-predictor-deploy #212",
        "run_url": "https://jenkins.example.com/job/ml/job/churn-predictor-deploy/212/",
        "started_at": "2025-04-16T09:00:00+00:00",
        "finished_at": "2025-04-16T09:07:01.337000+00:00",
        "occurred_at": "2025-04-16T09:07:01.337000+00:00",
        "failing_step": "smoke.test_churn.test_schema (and 2 more failed tests)",
        "message": "Shadow traffic comparison failed",
    },
    "jenkins/finalized__success_parameter_list": {
        **CHURN_BUILD,
        "status": "succeeded",
        "external_id": "job/ml/job/churn-predictor-deploy/#213",
        "started_at": "2025-04-16T10:00:00+00:00",
        "finished_at": "2025-04-16T10:05:00+00:00",
        "failing_step": "",
    },
    "jenkins/completed__unstable": {
        **CHURN_BUILD,
        "status": "failed",
        "failing_step": "smoke.test_churn.test_latency",
    },
    "jenkins/finalized__aborted": {**CHURN_BUILD, "status": "cancelled", "failing_step": ""},
    "jenkins/started__in_progress": {
        **CHURN_BUILD,
        "status": "in_progress",
        "started_at": "2025-04-16T09:00:00+00:00",
        "finished_at": None,
        "occurred_at": "2025-04-16T09:00:00+00:00",
    },
    "jenkins/finalized__not_built": IGNORED,
    "jenkins/queued__ignored": IGNORED,
    # Argo CD and Argo Rollouts
    "argocd/app_sync_failed__helm_parameters": {
        "kind": "deployment",
        "status": "failed",
        "external_id": "b0c6a3d2-51f4-4e9a-a1d8-7c3e9f2b6a10:2f4e6a8c0b1d3f5e7a9c1b3d5f7e9a1c3b5d7f90",
        "pipeline": "ml-platform/ranker-serving",
        "title": "ranker-serving sync failed",
        "sha": "2f4e6a8c0b1d3f5e7a9c1b3d5f7e9a1c3b5d7f90",
        "ref": "main",
        "environment": "ml-serving-prod",
        "run_url": "https://argocd.example.com/applications/ranker-serving?operation=true",
        "started_at": "2025-04-18T11:04:02+00:00",
        "finished_at": "2025-04-18T11:05:19+00:00",
        "occurred_at": "2025-04-18T11:05:20+00:00",
        "failing_step": "sync",
        "model_name": "ranker",
        "model_version": "42",
        "message": 'one or more synchronization tasks are not valid (retried 2 times). "ranker" exceeded quota: gpu',
    },
    "argocd/app_sync_succeeded__labels": {
        **RANKER_SYNCED,
        "status": "succeeded",
        "title": "ranker-serving synced",
        "occurred_at": "2025-04-18T12:01:02+00:00",
        "failing_step": "",
    },
    "argocd/app_health_degraded__after_sync": {
        **RANKER_SYNCED,
        "status": "failed",
        "title": "ranker-serving degraded",
        "occurred_at": "2025-04-18T12:07:45+00:00",
        "failing_step": "health: Degraded",
    },
    "argocd/app_deployed__multi_source": {
        "status": "succeeded",
        "external_id": "5d2c9e1a-7b3f-4c6d-8e0a-1f2b3c4d5e6f:2025-04-19T07:28:40Z",
        "run_id": "",
        "sha": "",
        "title": "embeddings-api deployed and healthy",
        "environment": "embeddings-staging",
        "model_name": "text-embedder",
        "model_version": "2025.04.19",
    },
    "argocd/app_sync_running__tag_revision": {
        "status": "in_progress",
        "external_id": "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d:v1.8.0",
        "run_id": "v1.8.0",
        "sha": "",
        "ref": "v1.8.0",
        "environment": "shadow",
        "finished_at": None,
        "occurred_at": "2025-04-19T08:00:00+00:00",
        "model_name": "",
    },
    # Argo Rollouts: each event is a deployment of the revision and a step of its experiment.
    "argo_rollouts/rollout_updated__new_revision": {
        **FRAUD_ROLLOUT,
        "status": "in_progress",
        "title": "fraud-scorer rollout started",
        "finished_at": None,
        "occurred_at": "2025-05-06T09:00:04+00:00",
        "rollout": {**FRAUD_ROLLOUT_BLOCK, "traffic_percent": 0, "step": 0},
    },
    "argo_rollouts/rollout_step_completed__set_weight": {
        **FRAUD_ROLLOUT,
        "status": "in_progress",
        "title": "fraud-scorer step completed",
        "finished_at": None,
        "rollout": {**FRAUD_ROLLOUT_BLOCK, "traffic_percent": 10, "step": 1},
    },
    "argo_rollouts/rollout_paused__traffic_routed": {
        **FRAUD_ROLLOUT,
        "status": "in_progress",
        "title": "fraud-scorer paused",
        "rollout": {**FRAUD_ROLLOUT_BLOCK, "traffic_percent": 30, "step": 3},
    },
    "argo_rollouts/analysis_run_failed__at_ten_percent": {
        **FRAUD_ROLLOUT,
        "status": "failed",
        "title": "fraud-scorer analysis run failed",
        "finished_at": "2025-05-06T09:07:45+00:00",
        "failing_step": "analysis",
        "message": 'RolloutAborted: Rollout aborted update to revision 12: Metric "precision-at-1pct-fpr" assessed '
        "Failed due to failed (3) > failureLimit (2)",
        "rollout": {**FRAUD_ROLLOUT_BLOCK, "traffic_percent": 10, "step": 1},
    },
    "argo_rollouts/analysis_run_error__blue_green": {
        **FRAUD_ROLLOUT,
        "status": "failed",
        "external_id": "rollout:fraud-serving/fraud-scorer:7a6b5c4d3e",
        "run_id": "7a6b5c4d3e",
        "model_version": "10",
        "failing_step": "analysis",
        "rollout": {
            **FRAUD_ROLLOUT_BLOCK,
            "name": "fraud-serving/fraud-scorer:7a6b5c4d3e",
            "kind": "blue_green",
            "candidate": "10",
            "traffic_percent": 0,
            "step": None,
        },
    },
    "argo_rollouts/rollout_aborted__after_analysis": {
        **FRAUD_ROLLOUT,
        "status": "failed",
        "failing_step": "abort",
        "rollout": {
            **FRAUD_ROLLOUT_BLOCK,
            "traffic_percent": 10,
            "step": 1,
            "outcome": "rolled_back",
            "reason": "RolloutAborted: Rollout aborted update to revision 12",
        },
    },
    # The body of the template Argo CD sources once gave for Rollouts: no steps, uid or pod template labels.
    "argo_rollouts/analysis_run_failed__earlier_template": {
        "kind": "deployment",
        "status": "failed",
        "external_id": "rollout:recsys-prod/recsys-canary:6b8f9d7c4",
        "pipeline": "argo-rollouts/recsys-canary",
        "run_id": "6b8f9d7c4",
        "title": "recsys-canary analysis run failed",
        "environment": "production",
        "finished_at": "2025-04-20T16:44:09+00:00",
        "failing_step": "analysis",
        "model_name": "recsys-two-tower",
        "model_version": "2025.04.20-9",
        "rollout": {
            "name": "recsys-prod/recsys-canary:6b8f9d7c4",
            "kind": "canary",
            "candidate": "2025.04.20-9",
            "control": "",
            "traffic_percent": None,
            "step": None,
            "outcome": None,
            "reason": "",
        },
    },
    # An image pinned by digest names no version: the rollout still ends, promoted at 100 %.
    "argo_rollouts/rollout_completed__digest_image": {
        "status": "succeeded",
        "external_id": "rollout:recsys-prod/recsys-canary:7c9a0e8d5",
        "model_name": "recsys-two-tower",
        "model_version": "",
        "message": "",
        "rollout": {
            "name": "recsys-prod/recsys-canary:7c9a0e8d5",
            "kind": "canary",
            "candidate": "",
            "control": "",
            "traffic_percent": 100,
            "step": None,
            "outcome": "promoted",
            "reason": "",
        },
    },
    "argo_rollouts/rollout_completed__promoted": {
        **FRAUD_ROLLOUT,
        "status": "succeeded",
        "title": "fraud-scorer rollout completed",
        "finished_at": "2025-05-06T11:02:13+00:00",
        "rollout": {**FRAUD_ROLLOUT_BLOCK, "traffic_percent": 100, "step": 6, "outcome": "promoted"},
    },
    # CircleCI
    "circleci/workflow_completed__failed": {
        **FORECAST,
        "kind": "pipeline",
        "status": "failed",
        "external_id": "workflow:fda08377-fe7e-46b1-8992-3a7aaecac9c3",
        "run_id": "512",
        "ref": "main",
        "environment": "",
        "run_url": "https://app.circleci.com/pipelines/github/acme-ml/forecasting/512/workflows/"
        "fda08377-fe7e-46b1-8992-3a7aaecac9c3",
        "started_at": "2025-04-21T13:20:00.101000+00:00",
        "finished_at": "2025-04-21T13:45:09.301000+00:00",
        "model_name": "",
    },
    "circleci/workflow_completed__success_trigger_parameters": {
        **FORECAST,
        "status": "succeeded",
        "run_id": "513",
        "ref": "v5.0.0",
        "environment": "staging",
        "model_name": "demand-forecaster",
        "model_version": "5",
    },
    "circleci/workflow_completed__canceled": {
        "status": "cancelled",
        "run_id": "514",
        "committed_at": "2025-04-21T13:10:00+00:00",
    },
    "circleci/job_completed__failed": {
        **FORECAST,
        "kind": "job",
        "status": "failed",
        "external_id": "job:8bd9a5e8-6f30-4e4d-9b3c-2a1f0e9d8c7b",
        "run_url": "https://app.circleci.com/pipelines/github/acme-ml/forecasting/512/workflows/"
        "fda08377-fe7e-46b1-8992-3a7aaecac9c3/jobs/4021",
        "started_at": "2025-04-21T13:38:00.120000+00:00",
        "finished_at": "2025-04-21T13:44:59.880000+00:00",
        "failing_step": "evaluate-backtest",
    },
    "circleci/job_completed__success": {
        "kind": "job",
        "status": "succeeded",
        "external_id": "job:2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f",
        "failing_step": "",
    },
    # MLflow
    "mlflow/registered_model_created__with_tags": {
        "kind": "registry",
        "status": None,
        "title": "fraud-detector registered",
        "occurred_at": MLFLOW_TIME,
        "model_name": "fraud-detector",
        "model_version": "",
        "registry": {
            "action": "model_created",
            "model_name": "fraud-detector",
            "version": "",
            "alias": "",
            "run_id": "",
            "source_uri": "",
            "description": "Card-not-present fraud scoring",
            "tags": {"owner": "risk-ml", "pii": "false"},
        },
    },
    "mlflow/model_version_created__from_run": {
        "kind": "registry",
        "model_name": "fraud-detector",
        "model_version": "18",
        "model_origin": "payload",
        "registry": {
            "action": "version_created",
            "model_name": "fraud-detector",
            "version": "18",
            "alias": "",
            "run_id": "6f0c2d9a1b3e4f5788aa99bbccddeeff",
            "source_uri": "models:/m-6f0c2d9a1b3e4f57",
            "description": "",
            "tags": {"auc": "0.944", "training_data": "s3://features/fraud/2025-04"},
        },
    },
    "mlflow/model_version_tag_set__validation_status": {
        "title": "fraud-detector v18 tagged validation_status=approved",
        "registry": {
            "action": "version_tag_set",
            "model_name": "fraud-detector",
            "version": "18",
            "alias": "",
            "run_id": "",
            "source_uri": "",
            "description": "",
            "tags": {"validation_status": "approved"},
        },
    },
    "mlflow/model_version_tag_deleted__stale_tag": {
        "model_version": "17",
        "registry": {
            "action": "version_tag_deleted",
            "model_name": "fraud-detector",
            "version": "17",
            "alias": "",
            "run_id": "",
            "source_uri": "",
            "description": "",
            "tags": {"validation_status": None},
        },
    },
    "mlflow/model_version_alias_created__champion": {
        "title": "fraud-detector@champion now points to v18",
        "model_version": "18",
        "registry": {
            "action": "alias_set",
            "model_name": "fraud-detector",
            "version": "18",
            "alias": "champion",
            "run_id": "",
            "source_uri": "",
            "description": "",
            "tags": {},
        },
    },
    "mlflow/model_version_alias_deleted__challenger": {
        "model_version": "",
        "registry": {
            "action": "alias_deleted",
            "model_name": "fraud-detector",
            "version": "",
            "alias": "challenger",
            "run_id": "",
            "source_uri": "",
            "description": "",
            "tags": {},
        },
    },
    "mlflow/prompt_created__ignored": IGNORED,
    # Generic
    "generic/deployment_failed__full": {
        "committed_at": "2025-04-23T07:12:00+00:00",  # read with its zone
        "kind": "deployment",
        "status": "failed",
        "external_id": "sagemaker-release:rel-2025-04-23-3:production",
        "pipeline": "sagemaker-release",
        "run_id": "rel-2025-04-23-3",
        "title": "Release price-elasticity v12 to production",
        "sha": "1f2e3d4c5b6a79880796a5b4c3d2e1f0a9b8c7d6",
        "ref": "refs/tags/v12",
        "environment": "production",
        "run_url": "https://ci.example.com/sagemaker-release/runs/rel-2025-04-23-3",
        "started_at": "2025-04-23T16:40:00+00:00",
        "finished_at": "2025-04-23T15:02:40+00:00",
        "occurred_at": "2025-04-23T17:02:44.250000+00:00",
        "failing_step": "shadow evaluation",
        "model_name": "price-elasticity",
        "model_version": "12",
        "model_origin": "payload",
        "message": "MAPE 14.2% over the 9% budget on shadow traffic",
    },
    "generic/deployment_succeeded__minimal": {
        "committed_at": None,
        "status": "succeeded",
        "external_id": "batch-scorer:nightly-117:",
        "pipeline": "batch-scorer",
        "title": "",
        "environment": "",
        "run_url": "",
        "started_at": None,
        "occurred_at": "2025-04-23T18:00:00+00:00",
        "model_name": "",
        "model_origin": "",
    },
    "generic/deployment_started__integer_run_id": {
        "status": "in_progress",
        "external_id": "airflow/retrain_ltv:90210:staging",
        "run_id": "90210",
        "model_name": "ltv",
        "model_version": "7",
    },
    "generic/deployment_cancelled__null_optionals": {
        "status": "cancelled",
        "external_id": "airflow/retrain_ltv:90211:",
        "environment": "",
        "run_url": "",
        "model_name": "",
    },
    "generic/deployment_started__rollout_step": {
        "status": "in_progress",
        "external_id": "churn-release:981:production",
        "model_name": "churn-predictor",
        "model_version": "12",
        "rollout": {
            "name": "churn-predictor-v12",
            "kind": "canary",
            "candidate": "12",
            "control": "11",
            "traffic_percent": 25,
            "step": 2,
            "outcome": None,
            "reason": "",
        },
    },
    "generic/deployment_succeeded__rollout_promoted": {
        "status": "succeeded",
        "rollout": {
            "name": "churn-predictor-v12",
            "kind": "ab_test",
            "candidate": "12",
            "control": "11",
            "traffic_percent": 100,
            "step": None,
            "outcome": "promoted",
            "reason": "Retention uplift of 1.8 % held for three hours.",
        },
    },
    "generic/build_finished__other_type": IGNORED,
}


def test_every_fixture_has_expectations():
    found = {fixture_id(path) for path in fixture_paths()}
    assert found == set(EXPECTED)
    assert {path.parent.name for path in fixture_paths()} == {
        "github",
        "gitlab",
        "jenkins",
        "argocd",
        "argo_rollouts",
        "circleci",
        "mlflow",
        "generic",
    }


@pytest.mark.parametrize("kind", sorted({path.parent.name for path in fixture_paths()}))
def test_every_event_a_sender_records_has_a_fixture(kind):
    """Each adapter event (Argo Rollouts' seven among them) is read by at least one fixture's test."""
    fixtures = {path.stem.split("__")[0] for path in (FIXTURES / kind).glob("*.json")}
    missing = [
        event
        for event in sender_for(kind).adapters
        if event.replace(".", "_").replace("-", "_").replace(" ", "_").lower() not in fixtures
    ]
    assert not missing


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_normalizes_to_expected_fields(name):
    kind, stem = name.split("/")
    prefix = stem.split("__")[0]
    raw = (FIXTURES / f"{name}.json").read_bytes()
    sender = sender_for(kind)
    headers = headers_for(kind, prefix)
    payload = sender.parse(headers, raw)
    event_name = sender.event_name(headers, payload)
    # The fixture's name says which event it holds.
    assert event_name.replace(".", "_").replace("-", "_").replace(" ", "_").lower() == prefix
    expected = EXPECTED[name]
    if expected == IGNORED:
        with pytest.raises(UnsupportedEvent):
            sender.adapt(event_name, payload)
        return
    event = sender.adapt(event_name, payload)
    assert_sane(event)
    normalized = event.as_json()
    assert {field: normalized[field] for field in expected} == expected


def test_each_event_has_one_home_among_senders_reading_the_same_body():
    """Argo CD and Argo Rollouts share a notification engine and its body's ``event`` field: one sender reads each."""
    kinds = sorted({path.parent.name for path in fixture_paths()})
    by_reader: dict[object, list[str]] = {}
    for kind in kinds:
        by_reader.setdefault(sender_for(kind).event_name, []).append(kind)
    shared = [group for group in by_reader.values() if len(group) > 1]
    assert ["argo_rollouts", "argocd"] in shared
    for group in shared:
        seen: dict[str, str] = {}
        for kind in group:
            for event in sender_for(kind).adapters:
                assert event not in seen, f"{event!r} is read by both {seen[event]} and {kind}"
                seen[event] = kind


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("argo_rollouts/*.json")), ids=lambda path: path.stem)
def test_an_argo_rollouts_delivery_sent_to_an_argo_cd_source_is_ignored(path):
    sender = sender_for("argocd")
    payload = sender.parse({}, path.read_bytes())
    with pytest.raises(UnsupportedEvent):
        sender.adapt(sender.event_name({}, payload), payload)
