// GENERATED from oas/swagger.yaml; do not edit. Regenerate with
// `UPDATE_UI_SPEC=1 cargo test -p mcpproxy --lib ui::spec_js`.

/**
 * @typedef {object} Operation
 * @property {string} method
 * @property {string} path with `{name}` placeholders
 * @property {string[]} query parameter names
 * @property {"none"|"optional"|"required"} body
 * @property {string|null} response the 200 answer's schema
 */

/** @type {Readonly<Record<string, Operation>>} */
export const OPERATIONS = Object.freeze({
  "activity_export": {"body":"none","method":"GET","path":"/api/v1/activity/export","query":["format","type","server","tool","session_id","agent","status","start_time","end_time","q"],"response":null},
  "activity_get": {"body":"none","method":"GET","path":"/api/v1/activity/{id}","query":[],"response":null},
  "activity_list": {"body":"none","method":"GET","path":"/api/v1/activity","query":["type","server","tool","session_id","agent","status","start_time","end_time","q","cursor","limit","offset"],"response":"ActivityListResponse"},
  "activity_summary": {"body":"none","method":"GET","path":"/api/v1/activity/summary","query":["window"],"response":null},
  "config_apply": {"body":"required","method":"POST","path":"/api/v1/config/apply","query":[],"response":"ConfigApplyResponse"},
  "config_get": {"body":"none","method":"GET","path":"/api/v1/config","query":[],"response":"ConfigResponse"},
  "config_validate": {"body":"required","method":"POST","path":"/api/v1/config/validate","query":[],"response":"ValidateConfigResponse"},
  "connect_apply": {"body":"none","method":"POST","path":"/api/v1/connect/{client}","query":[],"response":"ConnectResponse"},
  "connect_list": {"body":"none","method":"GET","path":"/api/v1/connect","query":[],"response":"ConnectListResponse"},
  "connect_preview": {"body":"none","method":"GET","path":"/api/v1/connect/{client}/preview","query":[],"response":"ConnectResponse"},
  "connect_undo": {"body":"none","method":"POST","path":"/api/v1/connect/{client}/undo","query":[],"response":"ConnectUndoResponse"},
  "diagnostics_get": {"body":"none","method":"GET","path":"/api/v1/diagnostics","query":[],"response":"DiagnosticsResponse"},
  "docker_status": {"body":"none","method":"GET","path":"/api/v1/docker/status","query":[],"response":"DockerStatusResponse"},
  "doctor_get": {"body":"none","method":"GET","path":"/api/v1/doctor","query":[],"response":"DiagnosticsResponse"},
  "events_stream": {"body":"none","method":"GET","path":"/events","query":["logs"],"response":null},
  "health_live": {"body":"none","method":"GET","path":"/healthz","query":[],"response":"HealthzResponse"},
  "health_ready": {"body":"none","method":"GET","path":"/readyz","query":[],"response":"ReadyzResponse"},
  "index_search": {"body":"none","method":"GET","path":"/api/v1/index/search","query":["q","limit"],"response":"IndexSearchResponse"},
  "info_get": {"body":"none","method":"GET","path":"/api/v1/info","query":[],"response":"InfoResponse"},
  "oauth_client_metadata": {"body":"none","method":"GET","path":"/oauth/client-metadata.json","query":["url"],"response":"ClientMetadataDocument"},
  "registry_list": {"body":"none","method":"GET","path":"/api/v1/registries","query":[],"response":"RegistryListResponse"},
  "registry_server_add": {"body":"none","method":"POST","path":"/api/v1/registries/{id}/servers/{server}/add","query":[],"response":"ServerChangeResponse"},
  "registry_servers": {"body":"none","method":"GET","path":"/api/v1/registries/{id}/servers","query":["q","tag","limit"],"response":"RegistryServersResponse"},
  "routing_get": {"body":"none","method":"GET","path":"/api/v1/routing","query":[],"response":"RoutingResponse"},
  "secret_delete": {"body":"none","method":"DELETE","path":"/api/v1/secrets/{name}","query":[],"response":"SecretDeleteResponse"},
  "secret_get": {"body":"none","method":"GET","path":"/api/v1/secrets/{name}","query":[],"response":"SecretResponse"},
  "secret_list": {"body":"none","method":"GET","path":"/api/v1/secrets","query":[],"response":"SecretListResponse"},
  "secret_store": {"body":"required","method":"POST","path":"/api/v1/secrets","query":[],"response":"SecretStoreResponse"},
  "server_add": {"body":"required","method":"POST","path":"/api/v1/servers","query":[],"response":"ServerChangeResponse"},
  "server_auth": {"body":"none","method":"GET","path":"/api/v1/servers/{name}/auth","query":[],"response":"ServerAuthResponse"},
  "server_delete": {"body":"none","method":"DELETE","path":"/api/v1/servers/{name}","query":[],"response":"ServerChangeResponse"},
  "server_disable": {"body":"none","method":"POST","path":"/api/v1/servers/{name}/disable","query":[],"response":"ServerActionResponse"},
  "server_enable": {"body":"none","method":"POST","path":"/api/v1/servers/{name}/enable","query":[],"response":"ServerActionResponse"},
  "server_inspect": {"body":"optional","method":"POST","path":"/api/v1/servers/{name}/inspect","query":[],"response":"InspectionResponse"},
  "server_inspect_plan": {"body":"none","method":"GET","path":"/api/v1/servers/{name}/inspect","query":[],"response":"InspectionPlanResponse"},
  "server_list": {"body":"none","method":"GET","path":"/api/v1/servers","query":[],"response":"ServerListResponse"},
  "server_login": {"body":"none","method":"POST","path":"/api/v1/servers/{name}/login","query":[],"response":"ServerLoginResponse"},
  "server_logout": {"body":"none","method":"POST","path":"/api/v1/servers/{name}/logout","query":[],"response":"ServerActionResponse"},
  "server_logs": {"body":"none","method":"GET","path":"/api/v1/servers/{name}/logs","query":["after","tail"],"response":"ServerLogsResponse"},
  "server_quarantine": {"body":"optional","method":"POST","path":"/api/v1/servers/{name}/quarantine","query":[],"response":"ServerActionResponse"},
  "server_restart": {"body":"none","method":"POST","path":"/api/v1/servers/{name}/restart","query":[],"response":"ServerActionResponse"},
  "server_tool_calls": {"body":"none","method":"GET","path":"/api/v1/servers/{name}/tool-calls","query":["limit"],"response":"ServerToolCallsResponse"},
  "server_tools": {"body":"none","method":"GET","path":"/api/v1/servers/{name}/tools","query":[],"response":"ServerToolsResponse"},
  "server_tools_approve": {"body":"required","method":"POST","path":"/api/v1/servers/{name}/tools/approve","query":[],"response":"ApproveToolsResponse"},
  "server_unquarantine": {"body":"optional","method":"POST","path":"/api/v1/servers/{name}/unquarantine","query":[],"response":"UnquarantineResponse"},
  "server_update": {"body":"required","method":"PATCH","path":"/api/v1/servers/{name}","query":[],"response":"ServerChangeResponse"},
  "servers_bulk": {"body":"optional","method":"POST","path":"/api/v1/servers/{name}","query":[],"response":"BulkOperationResponse"},
  "session_get": {"body":"none","method":"GET","path":"/api/v1/sessions/{id}","query":[],"response":"SessionDetailResponse"},
  "session_list": {"body":"none","method":"GET","path":"/api/v1/sessions","query":["limit","offset"],"response":"SessionListResponse"},
  "stats_tokens": {"body":"none","method":"GET","path":"/api/v1/stats/tokens","query":[],"response":"TokenStatsResponse"},
  "status_get": {"body":"none","method":"GET","path":"/api/v1/status","query":[],"response":"StatusResponse"},
  "token_create": {"body":"required","method":"POST","path":"/api/v1/tokens","query":[],"response":null},
  "token_get": {"body":"none","method":"GET","path":"/api/v1/tokens/{name}","query":[],"response":"TokenResponse"},
  "token_list": {"body":"none","method":"GET","path":"/api/v1/tokens","query":[],"response":"TokenListResponse"},
  "token_revoke": {"body":"none","method":"DELETE","path":"/api/v1/tokens/{name}","query":[],"response":null},
  "tool_call": {"body":"required","method":"POST","path":"/api/v1/tools/call","query":[],"response":"ToolCallResponse"},
  "tool_call_get": {"body":"none","method":"GET","path":"/api/v1/tool-calls/{id}","query":[],"response":"ToolCallDetailResponse"},
  "tool_call_list": {"body":"none","method":"GET","path":"/api/v1/tool-calls","query":["limit","offset","session_id"],"response":"ToolCallListResponse"},
  "tool_call_replay": {"body":"required","method":"POST","path":"/api/v1/tool-calls/{id}/replay","query":[],"response":"ReplayResponse"},
  "tool_search": {"body":"none","method":"GET","path":"/api/v1/tools","query":["q","limit"],"response":"ToolSearchResponse"},
});

/** Every object schema: its required fields and what each field holds
 * (a schema name, `[X]` for an array of X, or a JSON type). */
export const SCHEMAS = Object.freeze({
  "ActivityListResponse": {"fields":{"data":"ActivityPage","success":"boolean"},"required":["success","data"]},
  "ActivityPage": {"fields":{"activities":"[ActivityRecord]","limit":"integer","next_cursor":"string","offset":"integer"},"required":["activities","limit","offset"]},
  "ActivityRecord": {"fields":{"action":"string","actor":"string","actor_name":"string","agent":"string","details":"any","duration_ms":"number","error":"string","id":"string","server":"string","session_id":"string","status":"string","timestamp":"string","tokens":"integer","tool":"string","type":"string"},"required":["id","type","timestamp","action","status"]},
  "ApproveToolsRequest": {"fields":{"approve_all":"boolean","reason":"string","tools":"[string]"},"required":[]},
  "ApproveToolsResponse": {"fields":{"data":"ApprovedTools","success":"boolean"},"required":["success","data"]},
  "ApprovedTools": {"fields":{"approved":"[string]","server_name":"string"},"required":["server_name","approved"]},
  "BulkOperationResponse": {"fields":{"data":"BulkOperationResult","success":"boolean"},"required":["success","data"]},
  "BulkOperationResult": {"fields":{"errors":"object","failed":"integer","format":"string","imported":"[ImportedServer]","preview":"boolean","skipped":"[SkippedServer]","successful":"integer","total":"integer"},"required":["total","successful","failed","errors"]},
  "ClientMetadataDocument": {"fields":{"client_id":"string","client_name":"string","client_uri":"string","grant_types":"[string]","redirect_uris":"[string]","response_types":"[string]","software_id":"string","software_version":"string","token_endpoint_auth_method":"string"},"required":["client_id","client_name","client_uri","redirect_uris","grant_types","response_types","token_endpoint_auth_method","software_id","software_version"]},
  "ConfigApplyResponse": {"fields":{"data":"ConfigApplyResult","success":"boolean"},"required":["success","data"]},
  "ConfigApplyResult": {"fields":{"applied_immediately":"boolean","changed_fields":"[string]","requires_restart":"boolean","restart_reason":"string","success":"boolean"},"required":["success","applied_immediately","requires_restart","changed_fields"]},
  "ConfigResponse": {"fields":{"data":"ConfigView","success":"boolean"},"required":["success","data"]},
  "ConfigView": {"fields":{"config":"ConfigDocument","config_path":"string"},"required":["config","config_path"]},
  "ConnectClient": {"fields":{"client":"string","connected":"boolean","error":"string","exists":"boolean","path":"string"},"required":["client","path","exists","connected"]},
  "ConnectList": {"fields":{"clients":"[ConnectClient]","mcp_url":"string"},"required":["mcp_url","clients"]},
  "ConnectListResponse": {"fields":{"data":"ConnectList","success":"boolean"},"required":["success","data"]},
  "ConnectPlan": {"fields":{"action":"string","after":"string","backup":"string","client":"string","connected":"boolean","entry":"string","exists":"boolean","path":"string"},"required":["client","path","exists","connected","entry","after","backup","action"]},
  "ConnectResponse": {"fields":{"data":"ConnectPlan","success":"boolean"},"required":["success","data"]},
  "ConnectUndoResponse": {"fields":{"data":"ConnectUndone","success":"boolean"},"required":["success","data"]},
  "ConnectUndone": {"fields":{"action":"string","client":"string","path":"string"},"required":["client","path","action"]},
  "ConnectionSettings": {"fields":{"args":"[string]","command":"string","env":"object","headers":"object","isolation":"object","oauth":"object","protocol":"string","url":"string","working_dir":"string"},"required":["args","env","headers","protocol"]},
  "DiagnosticIssue": {"fields":{"action":"string","category":"DiagnosticCategory","message":"string","server":"string","severity":"DiagnosticSeverity"},"required":["category","severity","message","action"]},
  "Diagnostics": {"fields":{"docker_status":"DiagnosticsDockerStatus","issues":"[DiagnosticIssue]","missing_secrets":"[MissingSecretDiagnostic]","oauth_required":"[OAuthRequiredDiagnostic]","runtime_warnings":"[string]","timestamp":"string","total_issues":"integer","upstream_errors":"[UpstreamErrorDiagnostic]"},"required":["total_issues","issues","upstream_errors","oauth_required","missing_secrets","runtime_warnings","timestamp"]},
  "DiagnosticsDockerStatus": {"fields":{"available":"boolean","error":"string","version":"string"},"required":["available"]},
  "DiagnosticsResponse": {"fields":{"data":"Diagnostics","success":"boolean"},"required":["success","data"]},
  "DockerStatus": {"fields":{"docker_available":"boolean","failure_count":"integer","isolation_enabled":"boolean","last_attempt":"string","last_error":"string","last_successful_at":"string","recovery_mode":"boolean","version":"string"},"required":["isolation_enabled","docker_available","recovery_mode","failure_count"]},
  "DockerStatusResponse": {"fields":{"data":"DockerStatus","success":"boolean"},"required":["success","data"]},
  "ErrorResponse": {"fields":{"code":"string","error":"string","errors":"[ValidationError]","success":"boolean"},"required":["code","error","success"]},
  "HealthStatus": {"fields":{"action":"string","admin_state":"AdminState","detail":"string","level":"HealthLevel","summary":"string"},"required":["level","admin_state","summary","action"]},
  "HealthzResponse": {"fields":{"status":"string"},"required":["status"]},
  "ImportedServer": {"fields":{"args":"[string]","command":"string","enabled":"boolean","name":"string","protocol":"string","quarantined":"boolean","url":"string"},"required":["name","protocol","args","enabled","quarantined"]},
  "IndexSearchData": {"fields":{"query":"string","results":"[IndexSearchResult]","took":"string","total":"integer"},"required":["query","results","total","took"]},
  "IndexSearchResponse": {"fields":{"data":"IndexSearchData","success":"boolean"},"required":["success","data"]},
  "IndexSearchResult": {"fields":{"matches":"integer","score":"number","tool":"IndexedTool"},"required":["tool","score","matches"]},
  "IndexedTool": {"fields":{"description":"string","name":"string","server_name":"string"},"required":["name","server_name","description"]},
  "InfoData": {"fields":{"endpoints":"InfoEndpoints","listen_addr":"string","update":"UpdateInfo","version":"string","web_ui_url":"string"},"required":["version","web_ui_url","listen_addr","endpoints"]},
  "InfoEndpoints": {"fields":{"http":"string","mcp":"McpEndpoints","socket":"string"},"required":["http","socket","mcp"]},
  "InfoResponse": {"fields":{"data":"InfoData","success":"boolean"},"required":["success","data"]},
  "InspectedTool": {"fields":{"description":"string","findings":"[ScanFinding]","input_schema":"object","name":"string","warnings":"[string]"},"required":["name","description","input_schema","warnings"]},
  "Inspection": {"fields":{"plan":"InspectionPlan","tools":"[InspectedTool]"},"required":["plan","tools"]},
  "InspectionPlan": {"fields":{"approved_connection":"ConnectionSettings","args":"[string]","changed_since_approval":"[string]","command":"string","current_connection":"ConnectionSettings","docker_image":"string","docker_isolation":"boolean","env_names":"[string]","fingerprint":"string","header_names":"[string]","last_known_tools":"[InspectedTool]","last_known_tools_source":"string","quarantined":"boolean","runs":"[string]","server_name":"string","transport":"string","url":"string","working_dir":"string"},"required":["server_name","quarantined","transport","args","env_names","header_names","docker_isolation","runs","current_connection","changed_since_approval","last_known_tools","fingerprint"]},
  "InspectionPlanResponse": {"fields":{"data":"InspectionPlan","success":"boolean"},"required":["success","data"]},
  "InspectionResponse": {"fields":{"data":"Inspection","success":"boolean"},"required":["success","data"]},
  "LogEntry": {"fields":{"level":"string","message":"string","timestamp":"string"},"required":["timestamp","level","message"]},
  "McpEndpoints": {"fields":{"all":"string","call":"string","default":"string","routing_mode":"string","servers":"[McpServerEndpoint]"},"required":["routing_mode","default","call","all","servers"]},
  "McpServerEndpoint": {"fields":{"available":"boolean","name":"string","url":"string"},"required":["name","url","available"]},
  "MissingSecretDiagnostic": {"fields":{"secret_name":"string","type":"string","used_by":"[string]"},"required":["secret_name","type","used_by"]},
  "OAuthRequiredDiagnostic": {"fields":{"message":"string","server_name":"string","state":"string"},"required":["server_name","state","message"]},
  "QuarantineRequest": {"fields":{"fingerprint":"string","quarantined":"boolean"},"required":[]},
  "ReadyzResponse": {"fields":{"ready":"boolean"},"required":["ready"]},
  "Registry": {"fields":{"count":"any","description":"string","id":"string","name":"string","protocol":"string","servers_url":"string","tags":"[string]","url":"string"},"required":["id","name","description","url","servers_url","tags","protocol"]},
  "RegistryList": {"fields":{"registries":"[Registry]","total":"integer"},"required":["registries","total"]},
  "RegistryListResponse": {"fields":{"data":"RegistryList","success":"boolean"},"required":["success","data"]},
  "RegistryServer": {"fields":{"args":"[string]","command":"string","description":"string","id":"string","name":"string","protocol":"string","url":"string","version":"string"},"required":["id","name","description","args"]},
  "RegistryServers": {"fields":{"query":"string","registry_id":"string","servers":"[RegistryServer]","tag":"string","total":"integer"},"required":["registry_id","servers","total"]},
  "RegistryServersResponse": {"fields":{"data":"RegistryServers","success":"boolean"},"required":["success","data"]},
  "ReplayRequest": {"fields":{"arguments":"object"},"required":[]},
  "ReplayResponse": {"fields":{"data":"ReplayResult","success":"boolean"},"required":["success","data"]},
  "ReplayResult": {"fields":{"new_call_id":"string","new_tool_call":"ToolCallRecord","replayed_from":"string","success":"boolean"},"required":["new_call_id","replayed_from","new_tool_call","success"]},
  "ReviewRequest": {"fields":{"fingerprint":"string","override_reason":"string"},"required":[]},
  "RoutingResponse": {"fields":{"data":"McpEndpoints","success":"boolean"},"required":["success","data"]},
  "ScanFinding": {"fields":{"category":"string","end":"integer","field":"string","matched":"string","reason":"string","rule":"string","start":"integer","tier":"ScanTier"},"required":["category","tier","rule","field","start","end","matched","reason"]},
  "ScanOverride": {"fields":{"at":"string","reason":"string"},"required":["reason","at"]},
  "SecretDeleteResponse": {"fields":{"data":"SecretDeleted","success":"boolean"},"required":["success","data"]},
  "SecretDeleted": {"fields":{"message":"string","name":"string","type":"string"},"required":["message","name","type"]},
  "SecretInfo": {"fields":{"is_set":"boolean","name":"string","reference":"string","type":"string","used_by":"[string]"},"required":["name","type","reference","is_set","used_by"]},
  "SecretList": {"fields":{"count":"integer","secrets":"[SecretInfo]"},"required":["secrets","count"]},
  "SecretListResponse": {"fields":{"data":"SecretList","success":"boolean"},"required":["success","data"]},
  "SecretResponse": {"fields":{"data":"SecretInfo","success":"boolean"},"required":["success","data"]},
  "SecretStoreRequest": {"fields":{"name":"string","type":"SecretStoreType","value":"string"},"required":["name","value"]},
  "SecretStoreResponse": {"fields":{"data":"SecretStored","success":"boolean"},"required":["success","data"]},
  "SecretStored": {"fields":{"message":"string","name":"string","reference":"string","type":"string"},"required":["message","name","type","reference"]},
  "Server": {"fields":{"args":"[string]","command":"string","connected":"boolean","connecting":"boolean","created":"string","enabled":"boolean","health":"HealthStatus","id":"string","last_error":"string","name":"string","protocol":"string","protocol_version":"string","quarantined":"boolean","reconnect_count":"integer","status":"string","tool_count":"integer","updated":"string","url":"string","working_dir":"string"},"required":["id","name","protocol","args","enabled","quarantined","connected","connecting","status","tool_count","reconnect_count","health"]},
  "ServerAction": {"fields":{"action":"string","server":"string","success":"boolean"},"required":["server","action","success"]},
  "ServerActionResponse": {"fields":{"data":"ServerAction","success":"boolean"},"required":["success","data"]},
  "ServerAddRequest": {"fields":{"args":"[string]","command":"string","enabled":"boolean","env":"object","handshake":"string","headers":"object","isolation":"object","name":"string","protocol":"string","quarantined":"boolean","url":"string","working_dir":"string"},"required":["name"]},
  "ServerApproval": {"fields":{"action":"string","approved_connection":"ConnectionSettings","changed_since_approval":"[string]","previously_approved":"ConnectionSettings","server":"string","success":"boolean"},"required":["server","action","success","approved_connection","changed_since_approval"]},
  "ServerAuth": {"fields":{"expires_at":"string","issuer":"string","last_error":"string","scopes":"[string]","server":"string","state":"ServerAuthState"},"required":["server","state","scopes"]},
  "ServerAuthResponse": {"fields":{"data":"ServerAuth","success":"boolean"},"required":["success","data"]},
  "ServerChange": {"fields":{"action":"string","changed":"[string]","enabled":"boolean","quarantined":"boolean","server":"string","success":"boolean"},"required":["server","action","success","enabled","quarantined","changed"]},
  "ServerChangeResponse": {"fields":{"action":"string","async":"boolean","data":"ServerChange","server":"string","success":"boolean"},"required":["success","server","action","async","data"]},
  "ServerListData": {"fields":{"servers":"[Server]","stats":"ServerStats"},"required":["servers","stats"]},
  "ServerListResponse": {"fields":{"data":"ServerListData","success":"boolean"},"required":["success","data"]},
  "ServerLogin": {"fields":{"auth_url":"string","expires_at":"string","server":"string"},"required":["server","expires_at"]},
  "ServerLoginResponse": {"fields":{"data":"ServerLogin","success":"boolean"},"required":["success","data"]},
  "ServerLogs": {"fields":{"count":"integer","cursor":"string","gap":"boolean","logs":"[LogEntry]","server_name":"string"},"required":["server_name","logs","count","cursor","gap"]},
  "ServerLogsResponse": {"fields":{"data":"ServerLogs","success":"boolean"},"required":["success","data"]},
  "ServerPatchRequest": {"fields":{"args":"[string]","command":"string","enabled":"boolean","env":"object","handshake":"string","headers":"object","isolation":"object","protocol":"string","quarantined":"boolean","url":"string","working_dir":"string"},"required":[]},
  "ServerStats": {"fields":{"connected_servers":"integer","docker_containers":"integer","quarantined_servers":"integer","total_servers":"integer","total_tools":"integer"},"required":["total_servers","connected_servers","quarantined_servers","total_tools","docker_containers"]},
  "ServerToolCalls": {"fields":{"server_name":"string","tool_calls":"[ToolCallRecord]","total":"integer"},"required":["server_name","tool_calls","total"]},
  "ServerToolCallsResponse": {"fields":{"data":"ServerToolCalls","success":"boolean"},"required":["success","data"]},
  "ServerTools": {"fields":{"count":"integer","server_name":"string","tools":"[Tool]"},"required":["server_name","tools","count"]},
  "ServerToolsResponse": {"fields":{"data":"ServerTools","success":"boolean"},"required":["success","data"]},
  "ServersImportRequest": {"fields":{"content":"string","format":"string","preview":"boolean","server_names":"[string]"},"required":[]},
  "Session": {"fields":{"client_name":"string","client_version":"string","end_time":"string","has_roots":"boolean","has_sampling":"boolean","id":"string","last_activity":"string","start_time":"string","status":"string","token_name":"string","tool_call_count":"integer","total_tokens":"integer"},"required":["id","status","start_time","last_activity","tool_call_count","total_tokens","has_roots","has_sampling"]},
  "SessionDetail": {"fields":{"session":"Session"},"required":["session"]},
  "SessionDetailResponse": {"fields":{"data":"SessionDetail","success":"boolean"},"required":["success","data"]},
  "SessionListResponse": {"fields":{"data":"SessionPage","success":"boolean"},"required":["success","data"]},
  "SessionPage": {"fields":{"limit":"integer","offset":"integer","sessions":"[Session]","total":"integer"},"required":["sessions","total","limit","offset"]},
  "SkippedServer": {"fields":{"name":"string","reason":"string"},"required":["name","reason"]},
  "StatusData": {"fields":{"listen_addr":"string","phase":"string","running":"boolean","timestamp":"integer","upstream_stats":"UpstreamStats"},"required":["running","listen_addr","phase","timestamp","upstream_stats"]},
  "StatusResponse": {"fields":{"data":"StatusData","mcp":"McpEndpoints","servers":"StatusServerCounts","status":"string","success":"boolean","tools":"StatusToolCounts","uptime":"integer","version":"string"},"required":["success","status","version","uptime","servers","tools","data","mcp"]},
  "StatusServerCounts": {"fields":{"connected":"integer","quarantined":"integer","total":"integer"},"required":["total","connected","quarantined"]},
  "StatusToolCounts": {"fields":{"total":"integer"},"required":["total"]},
  "TokenCreateRequest": {"fields":{"allowed_servers":"[string]","expires_in":"string","name":"string","permissions":"[TokenPermission]"},"required":["name"]},
  "TokenCreateResponse": {"fields":{"data":"TokenCreated","success":"boolean"},"required":["success","data"]},
  "TokenCreated": {"fields":{"allowed_servers":"[string]","created_at":"string","expires_at":"string","name":"string","permissions":"[TokenPermission]","token":"string","token_prefix":"string"},"required":["name","token","token_prefix","allowed_servers","permissions","expires_at","created_at"]},
  "TokenInfo": {"fields":{"allowed_servers":"[string]","created_at":"string","expired":"boolean","expires_at":"string","last_used_at":"string","name":"string","permissions":"[TokenPermission]","token_prefix":"string"},"required":["name","token_prefix","allowed_servers","permissions","expires_at","created_at","expired"]},
  "TokenList": {"fields":{"tokens":"[TokenInfo]"},"required":["tokens"]},
  "TokenListResponse": {"fields":{"data":"TokenList","success":"boolean"},"required":["success","data"]},
  "TokenResponse": {"fields":{"data":"TokenInfo","success":"boolean"},"required":["success","data"]},
  "TokenStats": {"fields":{"average_query_result_size":"integer","average_query_result_source":"QuerySizeSource","encoding":"string","model":"string","other_builtins":"TokenTally","per_server_tool_list_sizes":"object","per_session_tokens":"object","retrieve_tools":"TokenTally","saved_tokens":"integer","saved_tokens_percentage":"number","tool_results":"TokenTally","total_server_tool_list_size":"integer","uncounted_answers":"integer"},"required":["total_server_tool_list_size","average_query_result_size","saved_tokens","saved_tokens_percentage","per_server_tool_list_sizes","encoding","model","average_query_result_source","retrieve_tools","tool_results","other_builtins","uncounted_answers","per_session_tokens"]},
  "TokenStatsResponse": {"fields":{"data":"TokenStats","success":"boolean"},"required":["success","data"]},
  "TokenTally": {"fields":{"answers":"integer","tokens":"integer"},"required":["answers","tokens"]},
  "Tool": {"fields":{"annotations":"object","approval":"ToolApproval","description":"string","findings":"[ScanFinding]","id":"string","input_schema":"object","name":"string","output_schema":"object","scan_override":"ScanOverride","server_name":"string"},"required":["name","id","server_name","description","input_schema"]},
  "ToolApproval": {"fields":{"approved_at":"string","approved_description":"string","approved_hash":"string","approved_input_schema":"object","current_hash":"string","status":"string"},"required":["status","approved_hash","current_hash","approved_at","approved_description","approved_input_schema"]},
  "ToolCallDetail": {"fields":{"tool_call":"ToolCallRecord"},"required":["tool_call"]},
  "ToolCallDetailResponse": {"fields":{"data":"ToolCallDetail","success":"boolean"},"required":["success","data"]},
  "ToolCallListResponse": {"fields":{"data":"ToolCallPage","success":"boolean"},"required":["success","data"]},
  "ToolCallPage": {"fields":{"limit":"integer","offset":"integer","tool_calls":"[ToolCallRecord]","total":"integer"},"required":["tool_calls","total","limit","offset"]},
  "ToolCallRecord": {"fields":{"arguments":"any","config_path":"string","duration":"integer","duration_ms":"number","error":"string","id":"string","is_error":"boolean","mcp_client_name":"string","mcp_client_version":"string","mcp_session_id":"string","replayed_from":"string","response":"any","server_id":"string","server_name":"string","timestamp":"string","token_name":"string","tool_name":"string"},"required":["id","server_name","tool_name","arguments","is_error","duration_ms","duration","server_id","config_path","timestamp"]},
  "ToolCallRequest": {"fields":{"arguments":"object","tool_name":"string"},"required":["tool_name"]},
  "ToolCallResponse": {"fields":{"data":"object","success":"boolean"},"required":["success","data"]},
  "ToolSearchData": {"fields":{"stats":"ToolStats","tools":"[ToolSearchHit]"},"required":["tools","stats"]},
  "ToolSearchHit": {"fields":{"description":"string","matched_fields":"[string]","name":"string","score":"number","server":"string"},"required":["name","server","description","score","matched_fields"]},
  "ToolSearchResponse": {"fields":{"data":"ToolSearchData","success":"boolean","tools":"[ToolSearchHit]"},"required":["tools","success","data"]},
  "ToolStats": {"fields":{"disabled":"integer","enabled":"integer","pending_approval":"integer","total":"integer"},"required":["total","enabled","disabled","pending_approval"]},
  "UnquarantineResponse": {"fields":{"data":"ServerApproval","success":"boolean"},"required":["success","data"]},
  "UpdateInfo": {"fields":{"available":"boolean","check_error":"string","checked_at":"string","is_prerelease":"boolean","latest_version":"string","release_url":"string"},"required":["available"]},
  "UpstreamErrorDiagnostic": {"fields":{"error_message":"string","server_name":"string","timestamp":"string"},"required":["server_name","error_message"]},
  "UpstreamStats": {"fields":{"connected_servers":"integer","connecting_servers":"integer","quarantined_servers":"integer","total_servers":"integer","total_tools":"integer"},"required":["total_servers","connected_servers","connecting_servers","quarantined_servers","total_tools"]},
  "ValidateConfigResponse": {"fields":{"data":"ValidationReport","success":"boolean"},"required":["success","data"]},
  "ValidationError": {"fields":{"field":"string","message":"string"},"required":["field","message"]},
  "ValidationReport": {"fields":{"errors":"[ValidationError]","valid":"boolean"},"required":["valid","errors"]},
});

/**
 * @typedef {object} ActivityListResponse
 * @property {ActivityPage} data
 * @property {boolean} success
 */
/**
 * @typedef {object} ActivityPage
 * @property {Array<ActivityRecord>} activities
 * @property {number} limit
 * @property {string} [next_cursor]
 * @property {number} offset
 */
/**
 * @typedef {object} ActivityRecord
 * @property {string} action
 * @property {string} [actor]
 * @property {string} [actor_name]
 * @property {string} [agent]
 * @property {*} [details]
 * @property {number} [duration_ms]
 * @property {string} [error]
 * @property {string} id
 * @property {string} [server]
 * @property {string} [session_id]
 * @property {string} status
 * @property {string} timestamp
 * @property {number} [tokens]
 * @property {string} [tool]
 * @property {string} type
 */
/** @typedef {"enabled"|"disabled"|"quarantined"} AdminState */
/**
 * @typedef {object} ApproveToolsRequest
 * @property {boolean} [approve_all]
 * @property {string} [reason]
 * @property {Array<string>} [tools]
 */
/**
 * @typedef {object} ApproveToolsResponse
 * @property {ApprovedTools} data
 * @property {boolean} success
 */
/**
 * @typedef {object} ApprovedTools
 * @property {Array<string>} approved
 * @property {string} server_name
 */
/** @typedef {"enable_all"|"disable_all"|"restart_all"|"reconnect"|"import"} BulkAction */
/**
 * @typedef {object} BulkOperationResponse
 * @property {BulkOperationResult} data
 * @property {boolean} success
 */
/**
 * @typedef {object} BulkOperationResult
 * @property {object} errors
 * @property {number} failed
 * @property {string} [format]
 * @property {Array<ImportedServer>} [imported]
 * @property {boolean} [preview]
 * @property {Array<SkippedServer>} [skipped]
 * @property {number} successful
 * @property {number} total
 */
/**
 * @typedef {object} ClientMetadataDocument
 * @property {string} client_id
 * @property {string} client_name
 * @property {string} client_uri
 * @property {Array<string>} grant_types
 * @property {Array<string>} redirect_uris
 * @property {Array<string>} response_types
 * @property {string} software_id
 * @property {string} software_version
 * @property {string} token_endpoint_auth_method
 */
/**
 * @typedef {object} ConfigApplyResponse
 * @property {ConfigApplyResult} data
 * @property {boolean} success
 */
/**
 * @typedef {object} ConfigApplyResult
 * @property {boolean} applied_immediately
 * @property {Array<string>} changed_fields
 * @property {boolean} requires_restart
 * @property {string} [restart_reason]
 * @property {boolean} success
 */
/**
 * @typedef {object} ConfigResponse
 * @property {ConfigView} data
 * @property {boolean} success
 */
/**
 * @typedef {object} ConfigView
 * @property {ConfigDocument} config
 * @property {string} config_path
 */
/**
 * @typedef {object} ConnectClient
 * @property {string} client
 * @property {boolean} connected
 * @property {string} [error]
 * @property {boolean} exists
 * @property {string} path
 */
/**
 * @typedef {object} ConnectList
 * @property {Array<ConnectClient>} clients
 * @property {string} mcp_url
 */
/**
 * @typedef {object} ConnectListResponse
 * @property {ConnectList} data
 * @property {boolean} success
 */
/**
 * @typedef {object} ConnectPlan
 * @property {string} action
 * @property {string} after
 * @property {string} backup
 * @property {string} client
 * @property {boolean} connected
 * @property {string} entry
 * @property {boolean} exists
 * @property {string} path
 */
/**
 * @typedef {object} ConnectResponse
 * @property {ConnectPlan} data
 * @property {boolean} success
 */
/**
 * @typedef {object} ConnectUndoResponse
 * @property {ConnectUndone} data
 * @property {boolean} success
 */
/**
 * @typedef {object} ConnectUndone
 * @property {string} action
 * @property {string} client
 * @property {string} path
 */
/**
 * @typedef {object} ConnectionSettings
 * @property {Array<string>} args
 * @property {string} [command]
 * @property {object} env
 * @property {object} headers
 * @property {object} [isolation]
 * @property {object} [oauth]
 * @property {string} protocol
 * @property {string} [url]
 * @property {string} [working_dir]
 */
/** @typedef {"upstream_error"|"oauth_required"|"missing_secret"|"quarantined"|"changed_tools"|"docker"|"config"|"security"} DiagnosticCategory */
/**
 * @typedef {object} DiagnosticIssue
 * @property {string} action
 * @property {DiagnosticCategory} category
 * @property {string} message
 * @property {string} [server]
 * @property {DiagnosticSeverity} severity
 */
/** @typedef {"error"|"warning"|"info"} DiagnosticSeverity */
/**
 * @typedef {object} Diagnostics
 * @property {DiagnosticsDockerStatus} [docker_status]
 * @property {Array<DiagnosticIssue>} issues
 * @property {Array<MissingSecretDiagnostic>} missing_secrets
 * @property {Array<OAuthRequiredDiagnostic>} oauth_required
 * @property {Array<string>} runtime_warnings
 * @property {string} timestamp
 * @property {number} total_issues
 * @property {Array<UpstreamErrorDiagnostic>} upstream_errors
 */
/**
 * @typedef {object} DiagnosticsDockerStatus
 * @property {boolean} available
 * @property {string} [error]
 * @property {string} [version]
 */
/**
 * @typedef {object} DiagnosticsResponse
 * @property {Diagnostics} data
 * @property {boolean} success
 */
/**
 * @typedef {object} DockerStatus
 * @property {boolean} docker_available
 * @property {number} failure_count
 * @property {boolean} isolation_enabled
 * @property {string} [last_attempt]
 * @property {string} [last_error]
 * @property {string} [last_successful_at]
 * @property {boolean} recovery_mode
 * @property {string} [version]
 */
/**
 * @typedef {object} DockerStatusResponse
 * @property {DockerStatus} data
 * @property {boolean} success
 */
/**
 * @typedef {object} ErrorResponse
 * @property {string} code
 * @property {string} error
 * @property {Array<ValidationError>} [errors]
 * @property {boolean} success
 */
/** @typedef {"healthy"|"degraded"|"unhealthy"} HealthLevel */
/**
 * @typedef {object} HealthStatus
 * @property {string} action
 * @property {AdminState} admin_state
 * @property {string} [detail]
 * @property {HealthLevel} level
 * @property {string} summary
 */
/**
 * @typedef {object} HealthzResponse
 * @property {string} status
 */
/**
 * @typedef {object} ImportedServer
 * @property {Array<string>} args
 * @property {string} [command]
 * @property {boolean} enabled
 * @property {string} name
 * @property {string} protocol
 * @property {boolean} quarantined
 * @property {string} [url]
 */
/**
 * @typedef {object} IndexSearchData
 * @property {string} query
 * @property {Array<IndexSearchResult>} results
 * @property {string} took
 * @property {number} total
 */
/**
 * @typedef {object} IndexSearchResponse
 * @property {IndexSearchData} data
 * @property {boolean} success
 */
/**
 * @typedef {object} IndexSearchResult
 * @property {number} matches
 * @property {number} score
 * @property {IndexedTool} tool
 */
/**
 * @typedef {object} IndexedTool
 * @property {string} description
 * @property {string} name
 * @property {string} server_name
 */
/**
 * @typedef {object} InfoData
 * @property {InfoEndpoints} endpoints
 * @property {string} listen_addr
 * @property {UpdateInfo} [update]
 * @property {string} version
 * @property {string} web_ui_url
 */
/**
 * @typedef {object} InfoEndpoints
 * @property {string} http
 * @property {McpEndpoints} mcp
 * @property {string} socket
 */
/**
 * @typedef {object} InfoResponse
 * @property {InfoData} data
 * @property {boolean} success
 */
/**
 * @typedef {object} InspectedTool
 * @property {string} description
 * @property {Array<ScanFinding>} [findings]
 * @property {object} input_schema
 * @property {string} name
 * @property {Array<string>} warnings
 */
/**
 * @typedef {object} Inspection
 * @property {InspectionPlan} plan
 * @property {Array<InspectedTool>} tools
 */
/**
 * @typedef {object} InspectionPlan
 * @property {ConnectionSettings} [approved_connection]
 * @property {Array<string>} args
 * @property {Array<string>} changed_since_approval
 * @property {string} [command]
 * @property {ConnectionSettings} current_connection
 * @property {string} [docker_image]
 * @property {boolean} docker_isolation
 * @property {Array<string>} env_names
 * @property {string} fingerprint
 * @property {Array<string>} header_names
 * @property {Array<InspectedTool>} last_known_tools
 * @property {string} [last_known_tools_source]
 * @property {boolean} quarantined
 * @property {Array<string>} runs
 * @property {string} server_name
 * @property {string} transport
 * @property {string} [url]
 * @property {string} [working_dir]
 */
/**
 * @typedef {object} InspectionPlanResponse
 * @property {InspectionPlan} data
 * @property {boolean} success
 */
/**
 * @typedef {object} InspectionResponse
 * @property {Inspection} data
 * @property {boolean} success
 */
/**
 * @typedef {object} LogEntry
 * @property {string} level
 * @property {string} message
 * @property {string} timestamp
 */
/**
 * @typedef {object} McpEndpoints
 * @property {string} all
 * @property {string} call
 * @property {string} default
 * @property {string} routing_mode
 * @property {Array<McpServerEndpoint>} servers
 */
/**
 * @typedef {object} McpServerEndpoint
 * @property {boolean} available
 * @property {string} name
 * @property {string} url
 */
/**
 * @typedef {object} MissingSecretDiagnostic
 * @property {string} secret_name
 * @property {string} type
 * @property {Array<string>} used_by
 */
/**
 * @typedef {object} OAuthRequiredDiagnostic
 * @property {string} message
 * @property {string} server_name
 * @property {string} state
 */
/**
 * @typedef {object} QuarantineRequest
 * @property {string} [fingerprint]
 * @property {boolean} [quarantined]
 */
/** @typedef {"estimate"|"observed"} QuerySizeSource */
/**
 * @typedef {object} ReadyzResponse
 * @property {boolean} ready
 */
/**
 * @typedef {object} Registry
 * @property {*} [count]
 * @property {string} description
 * @property {string} id
 * @property {string} name
 * @property {string} protocol
 * @property {string} servers_url
 * @property {Array<string>} tags
 * @property {string} url
 */
/**
 * @typedef {object} RegistryList
 * @property {Array<Registry>} registries
 * @property {number} total
 */
/**
 * @typedef {object} RegistryListResponse
 * @property {RegistryList} data
 * @property {boolean} success
 */
/**
 * @typedef {object} RegistryServer
 * @property {Array<string>} args
 * @property {string} [command]
 * @property {string} description
 * @property {string} id
 * @property {string} name
 * @property {string} [protocol]
 * @property {string} [url]
 * @property {string} [version]
 */
/**
 * @typedef {object} RegistryServers
 * @property {string} [query]
 * @property {string} registry_id
 * @property {Array<RegistryServer>} servers
 * @property {string} [tag]
 * @property {number} total
 */
/**
 * @typedef {object} RegistryServersResponse
 * @property {RegistryServers} data
 * @property {boolean} success
 */
/**
 * @typedef {object} ReplayRequest
 * @property {object} [arguments]
 */
/**
 * @typedef {object} ReplayResponse
 * @property {ReplayResult} data
 * @property {boolean} success
 */
/**
 * @typedef {object} ReplayResult
 * @property {string} new_call_id
 * @property {ToolCallRecord} new_tool_call
 * @property {string} replayed_from
 * @property {boolean} success
 */
/**
 * @typedef {object} ReviewRequest
 * @property {string} [fingerprint]
 * @property {string} [override_reason]
 */
/**
 * @typedef {object} RoutingResponse
 * @property {McpEndpoints} data
 * @property {boolean} success
 */
/**
 * @typedef {object} ScanFinding
 * @property {string} category
 * @property {number} end
 * @property {string} field
 * @property {string} matched
 * @property {string} reason
 * @property {string} rule
 * @property {number} start
 * @property {ScanTier} tier
 */
/**
 * @typedef {object} ScanOverride
 * @property {string} at
 * @property {string} reason
 */
/** @typedef {"block"|"review"} ScanTier */
/**
 * @typedef {object} SecretDeleteResponse
 * @property {SecretDeleted} data
 * @property {boolean} success
 */
/**
 * @typedef {object} SecretDeleted
 * @property {string} message
 * @property {string} name
 * @property {string} type
 */
/**
 * @typedef {object} SecretInfo
 * @property {boolean} is_set
 * @property {string} name
 * @property {string} reference
 * @property {string} type
 * @property {Array<string>} used_by
 */
/**
 * @typedef {object} SecretList
 * @property {number} count
 * @property {Array<SecretInfo>} secrets
 */
/**
 * @typedef {object} SecretListResponse
 * @property {SecretList} data
 * @property {boolean} success
 */
/**
 * @typedef {object} SecretResponse
 * @property {SecretInfo} data
 * @property {boolean} success
 */
/**
 * @typedef {object} SecretStoreRequest
 * @property {string} name
 * @property {SecretStoreType} [type]
 * @property {string} value
 */
/**
 * @typedef {object} SecretStoreResponse
 * @property {SecretStored} data
 * @property {boolean} success
 */
/** @typedef {"keyring"} SecretStoreType */
/**
 * @typedef {object} SecretStored
 * @property {string} message
 * @property {string} name
 * @property {string} reference
 * @property {string} type
 */
/**
 * @typedef {object} Server
 * @property {Array<string>} args
 * @property {string} [command]
 * @property {boolean} connected
 * @property {boolean} connecting
 * @property {string} [created]
 * @property {boolean} enabled
 * @property {HealthStatus} health
 * @property {string} id
 * @property {string} [last_error]
 * @property {string} name
 * @property {string} protocol
 * @property {string} [protocol_version]
 * @property {boolean} quarantined
 * @property {number} reconnect_count
 * @property {string} status
 * @property {number} tool_count
 * @property {string} [updated]
 * @property {string} [url]
 * @property {string} [working_dir]
 */
/**
 * @typedef {object} ServerAction
 * @property {string} action
 * @property {string} server
 * @property {boolean} success
 */
/**
 * @typedef {object} ServerActionResponse
 * @property {ServerAction} data
 * @property {boolean} success
 */
/**
 * @typedef {object} ServerAddRequest
 * @property {Array<string>} [args]
 * @property {string} [command]
 * @property {boolean} [enabled]
 * @property {object} [env]
 * @property {string} [handshake]
 * @property {object} [headers]
 * @property {object} [isolation]
 * @property {string} name
 * @property {string} [protocol]
 * @property {boolean} [quarantined]
 * @property {string} [url]
 * @property {string} [working_dir]
 */
/**
 * @typedef {object} ServerApproval
 * @property {string} action
 * @property {ConnectionSettings} approved_connection
 * @property {Array<string>} changed_since_approval
 * @property {ConnectionSettings} [previously_approved]
 * @property {string} server
 * @property {boolean} success
 */
/**
 * @typedef {object} ServerAuth
 * @property {string} [expires_at]
 * @property {string} [issuer]
 * @property {string} [last_error]
 * @property {Array<string>} scopes
 * @property {string} server
 * @property {ServerAuthState} state
 */
/**
 * @typedef {object} ServerAuthResponse
 * @property {ServerAuth} data
 * @property {boolean} success
 */
/** @typedef {"authenticated"|"failed"|"in_progress"|"needs_login"|"none"} ServerAuthState */
/**
 * @typedef {object} ServerChange
 * @property {string} action
 * @property {Array<string>} changed
 * @property {boolean} enabled
 * @property {boolean} quarantined
 * @property {string} server
 * @property {boolean} success
 */
/**
 * @typedef {object} ServerChangeResponse
 * @property {string} action
 * @property {boolean} async
 * @property {ServerChange} data
 * @property {string} server
 * @property {boolean} success
 */
/**
 * @typedef {object} ServerListData
 * @property {Array<Server>} servers
 * @property {ServerStats} stats
 */
/**
 * @typedef {object} ServerListResponse
 * @property {ServerListData} data
 * @property {boolean} success
 */
/**
 * @typedef {object} ServerLogin
 * @property {string} [auth_url]
 * @property {string} expires_at
 * @property {string} server
 */
/**
 * @typedef {object} ServerLoginResponse
 * @property {ServerLogin} data
 * @property {boolean} success
 */
/**
 * @typedef {object} ServerLogs
 * @property {number} count
 * @property {string} cursor
 * @property {boolean} gap
 * @property {Array<LogEntry>} logs
 * @property {string} server_name
 */
/**
 * @typedef {object} ServerLogsResponse
 * @property {ServerLogs} data
 * @property {boolean} success
 */
/**
 * @typedef {object} ServerPatchRequest
 * @property {Array<string>} [args]
 * @property {string} [command]
 * @property {boolean} [enabled]
 * @property {object} [env]
 * @property {string} [handshake]
 * @property {object} [headers]
 * @property {object} [isolation]
 * @property {string} [protocol]
 * @property {boolean} [quarantined]
 * @property {string} [url]
 * @property {string} [working_dir]
 */
/**
 * @typedef {object} ServerStats
 * @property {number} connected_servers
 * @property {number} docker_containers
 * @property {number} quarantined_servers
 * @property {number} total_servers
 * @property {number} total_tools
 */
/**
 * @typedef {object} ServerToolCalls
 * @property {string} server_name
 * @property {Array<ToolCallRecord>} tool_calls
 * @property {number} total
 */
/**
 * @typedef {object} ServerToolCallsResponse
 * @property {ServerToolCalls} data
 * @property {boolean} success
 */
/**
 * @typedef {object} ServerTools
 * @property {number} count
 * @property {string} server_name
 * @property {Array<Tool>} tools
 */
/**
 * @typedef {object} ServerToolsResponse
 * @property {ServerTools} data
 * @property {boolean} success
 */
/**
 * @typedef {object} ServersImportRequest
 * @property {string} [content]
 * @property {string} [format]
 * @property {boolean} [preview]
 * @property {Array<string>} [server_names]
 */
/**
 * @typedef {object} Session
 * @property {string} [client_name]
 * @property {string} [client_version]
 * @property {string} [end_time]
 * @property {boolean} has_roots
 * @property {boolean} has_sampling
 * @property {string} id
 * @property {string} last_activity
 * @property {string} start_time
 * @property {string} status
 * @property {string} [token_name]
 * @property {number} tool_call_count
 * @property {number} total_tokens
 */
/**
 * @typedef {object} SessionDetail
 * @property {Session} session
 */
/**
 * @typedef {object} SessionDetailResponse
 * @property {SessionDetail} data
 * @property {boolean} success
 */
/**
 * @typedef {object} SessionListResponse
 * @property {SessionPage} data
 * @property {boolean} success
 */
/**
 * @typedef {object} SessionPage
 * @property {number} limit
 * @property {number} offset
 * @property {Array<Session>} sessions
 * @property {number} total
 */
/**
 * @typedef {object} SkippedServer
 * @property {string} name
 * @property {string} reason
 */
/**
 * @typedef {object} StatusData
 * @property {string} listen_addr
 * @property {string} phase
 * @property {boolean} running
 * @property {number} timestamp
 * @property {UpstreamStats} upstream_stats
 */
/**
 * @typedef {object} StatusResponse
 * @property {StatusData} data
 * @property {McpEndpoints} mcp
 * @property {StatusServerCounts} servers
 * @property {string} status
 * @property {boolean} success
 * @property {StatusToolCounts} tools
 * @property {number} uptime
 * @property {string} version
 */
/**
 * @typedef {object} StatusServerCounts
 * @property {number} connected
 * @property {number} quarantined
 * @property {number} total
 */
/**
 * @typedef {object} StatusToolCounts
 * @property {number} total
 */
/**
 * @typedef {object} TokenCreateRequest
 * @property {Array<string>} [allowed_servers]
 * @property {string} [expires_in]
 * @property {string} name
 * @property {Array<TokenPermission>} [permissions]
 */
/**
 * @typedef {object} TokenCreateResponse
 * @property {TokenCreated} data
 * @property {boolean} success
 */
/**
 * @typedef {object} TokenCreated
 * @property {Array<string>} allowed_servers
 * @property {string} created_at
 * @property {string} expires_at
 * @property {string} name
 * @property {Array<TokenPermission>} permissions
 * @property {string} token
 * @property {string} token_prefix
 */
/**
 * @typedef {object} TokenInfo
 * @property {Array<string>} allowed_servers
 * @property {string} created_at
 * @property {boolean} expired
 * @property {string} expires_at
 * @property {string} [last_used_at]
 * @property {string} name
 * @property {Array<TokenPermission>} permissions
 * @property {string} token_prefix
 */
/**
 * @typedef {object} TokenList
 * @property {Array<TokenInfo>} tokens
 */
/**
 * @typedef {object} TokenListResponse
 * @property {TokenList} data
 * @property {boolean} success
 */
/** @typedef {"read"|"write"|"destructive"} TokenPermission */
/**
 * @typedef {object} TokenResponse
 * @property {TokenInfo} data
 * @property {boolean} success
 */
/**
 * @typedef {object} TokenStats
 * @property {number} average_query_result_size
 * @property {QuerySizeSource} average_query_result_source
 * @property {string} encoding
 * @property {string} model
 * @property {TokenTally} other_builtins
 * @property {object} per_server_tool_list_sizes
 * @property {object} per_session_tokens
 * @property {TokenTally} retrieve_tools
 * @property {number} saved_tokens
 * @property {number} saved_tokens_percentage
 * @property {TokenTally} tool_results
 * @property {number} total_server_tool_list_size
 * @property {number} uncounted_answers
 */
/**
 * @typedef {object} TokenStatsResponse
 * @property {TokenStats} data
 * @property {boolean} success
 */
/**
 * @typedef {object} TokenTally
 * @property {number} answers
 * @property {number} tokens
 */
/**
 * @typedef {object} Tool
 * @property {object} [annotations]
 * @property {ToolApproval} [approval]
 * @property {string} description
 * @property {Array<ScanFinding>} [findings]
 * @property {string} id
 * @property {object} input_schema
 * @property {string} name
 * @property {object} [output_schema]
 * @property {ScanOverride} [scan_override]
 * @property {string} server_name
 */
/**
 * @typedef {object} ToolApproval
 * @property {string} approved_at
 * @property {string} approved_description
 * @property {string} approved_hash
 * @property {object} approved_input_schema
 * @property {string} current_hash
 * @property {string} status
 */
/**
 * @typedef {object} ToolCallDetail
 * @property {ToolCallRecord} tool_call
 */
/**
 * @typedef {object} ToolCallDetailResponse
 * @property {ToolCallDetail} data
 * @property {boolean} success
 */
/**
 * @typedef {object} ToolCallListResponse
 * @property {ToolCallPage} data
 * @property {boolean} success
 */
/**
 * @typedef {object} ToolCallPage
 * @property {number} limit
 * @property {number} offset
 * @property {Array<ToolCallRecord>} tool_calls
 * @property {number} total
 */
/**
 * @typedef {object} ToolCallRecord
 * @property {*} arguments
 * @property {string} config_path
 * @property {number} duration
 * @property {number} duration_ms
 * @property {string} [error]
 * @property {string} id
 * @property {boolean} is_error
 * @property {string} [mcp_client_name]
 * @property {string} [mcp_client_version]
 * @property {string} [mcp_session_id]
 * @property {string} [replayed_from]
 * @property {*} [response]
 * @property {string} server_id
 * @property {string} server_name
 * @property {string} timestamp
 * @property {string} [token_name]
 * @property {string} tool_name
 */
/**
 * @typedef {object} ToolCallRequest
 * @property {object} [arguments]
 * @property {string} tool_name
 */
/**
 * @typedef {object} ToolCallResponse
 * @property {object} data
 * @property {boolean} success
 */
/**
 * @typedef {object} ToolSearchData
 * @property {ToolStats} stats
 * @property {Array<ToolSearchHit>} tools
 */
/**
 * @typedef {object} ToolSearchHit
 * @property {string} description
 * @property {Array<string>} matched_fields
 * @property {string} name
 * @property {number} score
 * @property {string} server
 */
/**
 * @typedef {object} ToolSearchResponse
 * @property {ToolSearchData} data
 * @property {boolean} success
 * @property {Array<ToolSearchHit>} tools
 */
/**
 * @typedef {object} ToolStats
 * @property {number} disabled
 * @property {number} enabled
 * @property {number} pending_approval
 * @property {number} total
 */
/**
 * @typedef {object} UnquarantineResponse
 * @property {ServerApproval} data
 * @property {boolean} success
 */
/**
 * @typedef {object} UpdateInfo
 * @property {boolean} available
 * @property {string} [check_error]
 * @property {string} [checked_at]
 * @property {boolean} [is_prerelease]
 * @property {string} [latest_version]
 * @property {string} [release_url]
 */
/**
 * @typedef {object} UpstreamErrorDiagnostic
 * @property {string} error_message
 * @property {string} server_name
 * @property {string} [timestamp]
 */
/**
 * @typedef {object} UpstreamStats
 * @property {number} connected_servers
 * @property {number} connecting_servers
 * @property {number} quarantined_servers
 * @property {number} total_servers
 * @property {number} total_tools
 */
/**
 * @typedef {object} ValidateConfigResponse
 * @property {ValidationReport} data
 * @property {boolean} success
 */
/**
 * @typedef {object} ValidationError
 * @property {string} field
 * @property {string} message
 */
/**
 * @typedef {object} ValidationReport
 * @property {Array<ValidationError>} errors
 * @property {boolean} valid
 */
