//! The words the rules are made of, in one place: phrase patterns (prompt injection,
//! concealment, role changes, instructions addressed to the model, shadowing cues) and the
//! vocabularies of secrets, transfer verbs, shell payloads, instruction tags and capability
//! claims.

use super::phrase::{Step, step};

/// "ignore / forget / disregard … previous / your / all … instructions / rules / prompt".
pub static OVERRIDE: &[Step] = &[
    step(
        0,
        &[
            "ignore",
            "ignores",
            "ignoring",
            "disregard",
            "disregards",
            "forget",
            "forgets",
            "override",
            "overrides",
            "bypass",
            "pay no attention to",
            "do not follow",
            "don't follow",
            "stop following",
            "abandon",
            "discard",
            "set aside",
            "put aside",
            "throw away",
            "drop",
            "scrap",
            "dismiss",
        ],
    ),
    step(
        1,
        &[
            "previous",
            "prior",
            "earlier",
            "above",
            "preceding",
            "all",
            "any",
            "everything",
            "system",
            "your",
            "its",
            "the",
            "developer",
            "original",
            "initial",
            "existing",
            "safety",
            "what you were",
        ],
    ),
    step(
        3,
        &[
            "instructions",
            "instruction",
            "rules",
            "guidance",
            "guidelines",
            "prompt",
            "prompts",
            "directives",
            "told",
            "messages",
            "policy",
            "policies",
            "restrictions",
            "constraints",
            "above",
            "programming",
            "context",
            "directions",
            "guardrails",
        ],
    ),
];

/// Earlier text declared void: "everything before this line is outdated".
pub static VOID_EARLIER: &[Step] = &[
    step(
        0,
        &[
            "everything",
            "anything",
            "all",
            "instructions",
            "text",
            "whatever",
        ],
    ),
    step(
        3,
        &[
            "before this line",
            "above this line",
            "before this point",
            "above this point",
            "before this message",
            "above this message",
            "before this sentence",
            "prior to this",
            "preceding this",
        ],
    ),
    step(
        3,
        &[
            "is outdated",
            "are outdated",
            "is obsolete",
            "are obsolete",
            "is void",
            "are void",
            "is invalid",
            "are invalid",
            "is cancelled",
            "are cancelled",
            "is canceled",
            "are canceled",
            "is superseded",
            "are superseded",
            "no longer applies",
            "no longer apply",
            "should be ignored",
            "must be ignored",
            "can be ignored",
        ],
    ),
];

/// The model's own rules declared void: "the safety policy no longer applies to you".
pub static RULES_VOID: &[Step] = &[
    step(
        0,
        &[
            "safety",
            "content policy",
            "usage policy",
            "guardrails",
            "system prompt",
            "your rules",
            "your policy",
            "your instructions",
            "your guidelines",
            "your restrictions",
        ],
    ),
    step(
        3,
        &[
            "no longer apply",
            "no longer applies",
            "do not apply to you",
            "does not apply to you",
            "don't apply to you",
            "doesn't apply to you",
            "do not apply anymore",
            "does not apply anymore",
            "are lifted",
            "is lifted",
            "are suspended",
            "is suspended",
            "are void",
            "is void",
        ],
    ),
];

/// Attempts to give the model a new role or rule set.
pub static ROLE: &[Step] = &[step(
    0,
    &[
        "you are now",
        "you are no longer",
        "from now on",
        "your new task",
        "your new role",
        "developer mode",
        "no restrictions",
        "jailbreak mode",
        "act as dan",
        "god mode",
        "system override",
        "admin override",
    ],
)];

/// New rules for the model: on their own a topic ("returns the team's new instructions"),
/// handed to the model ([`NEW_RULES_GIVEN`]) an injection.
pub static NEW_RULES: &[Step] = &[step(
    0,
    &[
        "new instructions",
        "new instruction",
        "new policy",
        "new system prompt",
        "new rules",
    ],
)];

/// New rules handed to the model: "here are your new instructions", "follow the new policy".
pub static NEW_RULES_GIVEN: &[Step] = &[
    step(0, &["follow", "obey", "here are", "these are", "your"]),
    step(
        2,
        &[
            "new instructions",
            "new instruction",
            "new policy",
            "new system prompt",
            "new rules",
        ],
    ),
];

/// "do not tell / never reveal / without informing …".
pub static CONCEAL: &[Step] = &[
    step(
        0,
        &[
            "do not",
            "don't",
            "dont",
            "never",
            "must not",
            "should not",
            "without",
            "not to",
            "no need to",
        ],
    ),
    step(
        1,
        &[
            "tell",
            "inform",
            "mention",
            "reveal",
            "show",
            "shown",
            "notify",
            "telling",
            "informing",
            "mentioning",
            "alert",
            "disclose",
            "letting",
            "revealing",
            "display",
        ],
    ),
];

/// "the user does not need to know".
pub static CONCEAL_USER: &[Step] = &[
    step(0, &["user", "users", "human"]),
    step(
        2,
        &[
            "does not need to know",
            "doesn't need to know",
            "must not know",
            "must never know",
            "should not know",
            "should never know",
            "need not know",
            "won't notice",
            "will not notice",
            "must not notice",
            "must not see",
        ],
    ),
];

/// Doing something behind the user's back.
pub static STEALTH: &[Step] = &[step(
    0,
    &[
        "quietly",
        "silently",
        "secretly",
        "covertly",
        "without the user knowing",
        "behind the user's back",
    ],
)];

/// Instructions addressed to the model rather than describing the tool.
pub static ADDRESSED: &[Step] = &[step(
    0,
    &[
        "before using this tool",
        "before calling this tool",
        "before calling",
        "before using",
        "before you use",
        "before you call",
        "note to the ai",
        "note for the ai",
        "note to the assistant",
        "note for the assistant",
        "sidenote for the assistant",
        "sidenote to the assistant",
        "the assistant must",
        "the assistant should",
        "the model must",
        "the model should",
        "the ai must",
        "the ai should",
        "assistant you must",
        "ai you must",
        "you must first",
        "otherwise the tool will not work",
        "this is required",
        "the llm must",
        "the agent must",
        "you must also",
        "you must always",
    ],
)];

/// Shadowing: a cue before another tool's name ("when the X tool is used").
pub static SHADOW_CUE_BEFORE: &[&str] = &[
    "when",
    "whenever",
    "every time",
    "each time",
    "before",
    "after",
    "instead of",
    "rather than",
    "supersedes",
    "replaces",
    "in place of",
    "behavior of",
    "behaviour of",
    "modifies",
    "modify",
    "overrides",
    "override",
    "do not use",
    "don't use",
    "never use",
];
/// How many words may separate a [`SHADOW_CUE_BEFORE`] cue from the tool's name.
pub const SHADOW_CUE_GAP: usize = 4;
/// Shadowing: a claim after another tool's name ("X must never be used").
pub static SHADOW_CUE_AFTER: &[&str] = &[
    "must never",
    "never be used",
    "has a bug",
    "is deprecated",
    "is broken",
    "should not be used",
    "must not be used",
    "is unsafe",
    "no longer works",
    "is unreliable",
    "is flaky",
    "is outdated",
    "is insecure",
    "is compromised",
    "does not work",
    "doesn't work",
    "should always",
    "must always",
    "should never",
    "must not be called",
    "should not be called",
];
/// Shadowing: calling another tool "as well" / "also".
pub static SHADOW_CALL: &[&str] = &["call", "use", "run", "invoke", "calls"];
/// What makes [`SHADOW_CALL`] a steer.
pub static SHADOW_ALSO: &[&str] = &["as well", "also", "too", "in addition"];
/// Steering every other tool without naming one.
pub static EVERY_TOOL: &[Step] = &[
    step(0, &["before", "instead of", "rather than", "after"]),
    step(2, &["any", "every", "all"]),
    step(1, &["other"]),
    step(0, &["tool", "tools"]),
];

/// Verbs that move data (imperative).
pub static TRANSFER: &[&str] = &[
    "read",
    "cat",
    "send",
    "include",
    "pass",
    "put",
    "paste",
    "copy",
    "upload",
    "post",
    "append",
    "attach",
    "collect",
    "gather",
    "fill",
    "forward",
    "exfiltrate",
    "provide",
    "share",
    "leak",
    "dump",
    "steal",
    "bcc",
    "embed",
    "insert",
    "email",
    "cc",
];
/// Words for secrets (a mention alone is not a finding; with a transfer verb it is).
pub static SECRET_WORDS: &[&str] = &[
    "api key",
    "api keys",
    "apikey",
    "password",
    "passwords",
    "passphrase",
    "seed phrase",
    "recovery phrase",
    "mnemonic",
    "private key",
    "private keys",
    "secret key",
    "access token",
    "access tokens",
    "tokens",
    "credentials",
    "cookies",
    "session cookie",
    "aws keys",
    "ssh key",
    "ssh keys",
    "secrets",
    "credit card",
    "credit cards",
    "card numbers",
    "chat history",
    "conversation history",
];
/// Suffixes of identifiers naming a secret (`OPENAI_API_KEY`).
pub static SECRET_SUFFIXES: &[&str] = &["api_key", "_secret", "_token", "_password"];
/// Files holding secrets or agent configuration (matched in the folded text).
pub static SECRET_PATHS: &[&str] = &[
    "~/.ssh",
    ".ssh/",
    "id_rsa",
    "id_ed25519",
    "id_ecdsa",
    "authorized_keys",
    "mcp.json",
    "claude_desktop_config",
    "~/.cursor",
    ".cursor/",
    "~/.aws",
    ".aws/credentials",
    "~/.config/gcloud",
    ".kube/config",
    "kubeconfig",
    ".npmrc",
    ".netrc",
    ".git-credentials",
    ".gitconfig",
    "/etc/passwd",
    "/etc/shadow",
    ".env",
    "wallet.dat",
    ".pgpass",
    ".docker/config.json",
    "bash_history",
    "credentials.json",
    "keychain",
];
/// URL schemes whose links are checked for raw IPs (matched in the folded text).
pub static SCHEMES: &[&str] = &["http://", "https://"];
/// Words that mark a reference to a tool argument.
pub static PARAM_WORDS: &[&str] = &["argument", "parameter", "param", "field"];

/// Shell payloads that fetch-and-run, open a reverse shell or destroy data.
pub static SHELL: &[&str] = &[
    "bash -i",
    "/dev/tcp/",
    "| nc ",
    "|nc ",
    "nc -e",
    "ncat ",
    "netcat ",
    "rm -rf",
    "mkfifo ",
    "chmod +x",
    "powershell -e",
    "iex(",
    "base64 -d |",
    "base64 -d|",
    "python -c",
    "eval $(",
];
/// Downloaders that, piped into an interpreter, run remote code.
pub static FETCHERS: &[&str] = &["curl ", "wget ", "iwr "];
/// Interpreters a download is piped into.
pub static INTERPRETERS: &[&str] = &[
    "sh", "bash", "zsh", "python", "python3", "perl", "ruby", "node", "iex",
];

/// Tag names that wrap instructions aimed at the model.
pub static TAG_NAMES: &[&str] = &[
    "important",
    "system",
    "instructions",
    "instruction",
    "secret",
    "hidden",
    "admin",
    "assistant",
    "sys",
    "inst",
    "context",
];
/// Markup that closes the tool description early.
pub static BREAKOUT: &[&str] = &[
    "</tool_description>",
    "</description>",
    "</tool>",
    "</function>",
];

/// Claims that a tool only reads.
pub static CLAIM_READ_ONLY: &[&str] = &[
    "read only",
    "no side effects",
    "does not modify",
    "doesn't modify",
    "without modifying",
    "never modifies",
    "does not change",
    "never changes",
    "safe and read only",
];
/// Claims that a tool stays offline.
pub static CLAIM_OFFLINE: &[&str] = &[
    "no network",
    "never contacts the network",
    "pure function",
    "offline",
    "locally",
    "does not contact",
    "never contacts",
    "no internet",
];
/// Parameter names that run code.
pub static EXEC_PARAMS: &[&str] = &[
    "command",
    "cmd",
    "exec",
    "shell",
    "script",
    "eval",
    "code_to_run",
    "cmdline",
    "command_line",
    "shell_command",
];
/// Parameter-description words that run code.
pub static EXEC_WORDS: &[&str] = &[
    "executed",
    "evaluated",
    "execute",
    "evaluate",
    "shell",
    "script",
    "shell command",
    "command to run",
    "command run",
    "commands run",
    "command executed",
    "run on the host",
];
/// Parameter names that send data out.
pub static EXFIL_PARAMS: &[&str] = &[
    "webhook",
    "callback",
    "callback_url",
    "endpoint",
    "upload_to",
    "upload_url",
    "post_url",
    "remote",
    "notify_url",
    "report_url",
    "exfil",
];
/// Parameter-description words that send data out.
pub static EXFIL_WORDS: &[&str] = &[
    "sent to", "uploaded", "post", "posted", "notified", "webhook", "remote",
];
/// Parameter names that fetch a URL.
pub static URL_PARAMS: &[&str] = &["url", "uri", "link", "href"];
/// Words (in a parameter's name or description) that destroy data.
pub static DESTROY_WORDS: &[&str] = &[
    "delete",
    "remove",
    "drop",
    "wipe",
    "overwrite",
    "truncate",
    "destroy",
];

/// Words just before a phrase that make it a description of text rather than an order
/// ("detects strings like …", "for example …").
pub static EXAMPLE_CUES: &[&str] = &[
    "like",
    "such as",
    "e g",
    "eg",
    "example",
    "examples",
    "for example",
    "detects",
    "detect",
    "detecting",
    "analyzes",
    "analyses",
    "analyze",
    "flags",
    "strings",
    "phrases",
    "matches",
    "containing",
    "contains",
    "sample",
    "samples",
    "benchmark",
    "quoted",
];
/// Words immediately before a phrase that make it a relative clause ("prompts that ignore …").
pub static RELATIVE_CUES: &[&str] = &["that", "which", "who"];
/// How many words before a phrase [`EXAMPLE_CUES`] are looked for.
pub const EXAMPLE_WINDOW: usize = 4;
