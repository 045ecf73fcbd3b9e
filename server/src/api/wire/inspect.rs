//! Inspection plans, results and approvals (`app::inspect`) → the wire types of
//! `/api/v1/servers/{name}/inspect` and `…/unquarantine`.

use mcpproxy_api::types;
use serde_json::{Map, Value};

use crate::app::{Approval, Inspection, InspectionPlan, KnownTool};
use crate::config::ConnectionSettings;

fn object(value: Option<Value>) -> Option<Map<String, Value>> {
    match value? {
        Value::Object(map) => Some(map),
        // A non-object setting (hand-edited config) is still shown, never dropped.
        other => Some(Map::from_iter([("value".to_string(), other)])),
    }
}

fn connection(c: ConnectionSettings) -> types::ConnectionSettings {
    types::ConnectionSettings {
        command: c.command,
        args: c.args,
        env: c.env.into_iter().collect(),
        headers: c.headers.into_iter().collect(),
        url: c.url,
        protocol: c.protocol,
        working_dir: c.working_dir,
        isolation: object(c.isolation),
        oauth: object(c.oauth),
    }
}

fn tool(t: KnownTool) -> types::InspectedTool {
    types::InspectedTool {
        name: t.name,
        description: t.description,
        input_schema: object(Some(t.input_schema)).unwrap_or_default(),
        warnings: t.warnings,
        findings: Some(super::scan::findings(&t.findings)),
    }
}

fn plan(p: InspectionPlan) -> types::InspectionPlan {
    types::InspectionPlan {
        server_name: p.server_name,
        quarantined: p.quarantined,
        transport: p.transport,
        command: p.command,
        args: p.args,
        env_names: p.env_names,
        working_dir: p.working_dir,
        url: p.url,
        header_names: p.header_names,
        docker_isolation: p.docker_isolation,
        docker_image: p.docker_image,
        runs: p.runs,
        approved_connection: p.approved_connection.map(connection),
        current_connection: connection(p.current_connection),
        changed_since_approval: p.changed_since_approval,
        last_known_tools: p.last_known_tools.into_iter().map(tool).collect(),
        last_known_tools_source: p.last_known_tools_source,
        fingerprint: p.fingerprint,
    }
}

/// `GET /api/v1/servers/{name}/inspect`.
pub fn plan_response(p: InspectionPlan) -> types::InspectionPlanResponse {
    types::InspectionPlanResponse {
        success: true,
        data: plan(p),
    }
}

/// `POST /api/v1/servers/{name}/inspect`.
pub fn inspection_response(i: Inspection) -> types::InspectionResponse {
    types::InspectionResponse {
        success: true,
        data: types::Inspection {
            plan: plan(i.plan),
            tools: i.tools.into_iter().map(tool).collect(),
        },
    }
}

/// `POST /api/v1/servers/{name}/unquarantine`.
pub fn approval_response(server: String, a: Approval) -> types::UnquarantineResponse {
    types::UnquarantineResponse {
        success: true,
        data: types::ServerApproval {
            server,
            action: "unquarantine".into(),
            success: true,
            approved_connection: connection(a.approved),
            changed_since_approval: a.changed,
            previously_approved: a.previously_approved.map(connection),
        },
    }
}
