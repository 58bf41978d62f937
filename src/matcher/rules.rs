//! The named rules that decide whether a hit is a TRTC error, with the
//! stable names events carry in `rule` and `why` prints. docs/recognition.md "How errors
//! are recognised" documents each.

/// Why a hit was taken as an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    /// `<KEY 0xhex>`: the SDK's own error form.
    KeyHex,
    /// A key next to its own code or hex (`KEY 0x1001`, `KEY (4097)`, `4097 KEY`).
    KeyOwnCode,
    /// A number that is a catalog code right beside a key of another code:
    /// the number decides.
    CodeBesideKey,
    /// A key with a cause code (account, room entry, extraCode) beside it.
    KeyWithCause,
    /// A key as the SDK names errors (`KEY: message`) or quoted, on an
    /// error-shaped line.
    KeyForm,
    /// A key specific enough to stand alone, on a line that is no mention.
    KeyBare,
    /// A number after a code word (`code:`, `errorCode`, `error code`, `err=`,
    /// `错误码`, `エラーコード`, ...); holds the full rule name
    /// (`code context: 错误码`).
    CodeContext(&'static str),
    /// `result: -10012` of a failed join (room-entry and account codes only).
    JoinResult,
    /// An error wording with its code in parentheses (`进房失败(-10020)`).
    WordingParen,
    /// An SDK error form whose key the catalog does not know.
    CatalogDrift,
    /// `stat-...-failed-16387` of the SDK's stat upload.
    StatFailed,
    /// An SDK `<ERROR>` line that starts with a code (`70001, userSig expired`).
    ErrorLineCode,
    /// A tally of an SDK hex code (`0x4003 ×2`).
    Tally,
    /// A catalog message wording on a line that is no mention.
    Message,
    /// A rule of the operator's `recognition:` config; holds its label
    /// (`recognition rule NAME`).
    Operator(&'static str),
}

impl Rule {
    /// The stable name (events' `rule`, `why`).
    pub fn name(self) -> &'static str {
        match self {
            Self::KeyHex => "key with its own hex",
            Self::KeyOwnCode => "key beside its own code",
            Self::CodeBesideKey => "code beside another key",
            Self::KeyWithCause => "key beside a cause code",
            Self::KeyForm => "key in error form",
            Self::KeyBare => "specific key",
            Self::CodeContext(name) => name,
            Self::JoinResult => "join result code",
            Self::StatFailed => "stat upload failure code",
            Self::CatalogDrift => "SDK error form with a key the catalog does not know",
            Self::WordingParen => "code after an error wording, in brackets",
            Self::ErrorLineCode => "code opening an ERROR line",
            Self::Tally => "tally of a hex code",
            Self::Message => "message wording",
            Self::Operator(label) => label,
        }
    }

    /// Strong rules hold at any log level: the text says "this code".
    pub fn is_strong(self) -> bool {
        !matches!(self, Self::KeyForm | Self::KeyBare | Self::Message)
    }
}

/// Why a hit was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reject {
    /// Part of a longer identifier (`MY_ICE_TRANSPORT_ERROR_X`).
    NotAWord,
    /// Inside a URL or a docs anchor (`ErrorCode.html#.ICE_TRANSPORT_ERROR`).
    UrlFragment,
    /// On an INFO/DEBUG/TRACE line without a strong form: a state report or
    /// a mention.
    InfoMention,
    /// A key or wording with a number that is no code (`ICE_TRANSPORT_ERROR=0`,
    /// `publish timeout=10000ms`): a counter or a setting.
    Setting,
    /// One of several key names listed together (a retry list).
    ListOfNames,
    /// A generic key (`UNKNOWN`, `INVALID_PARAMETER`) alone, or on a line
    /// that does not look like an error.
    GenericKey,
    /// A number without a code word before it (`size=4096`, `port 16387`).
    BareNumber,
    /// A code word whose number is not in the catalog, or whose form is not
    /// a code (`statusCode`, `?code=` in a URL).
    NotACode,
    /// trtc-logwatch's own output read back (its events, its metrics).
    OwnOutput,
    /// A code compared in source or docs (`error.extraCode === 5501`).
    Comparison,
    /// A key named in prose: a changelog or commit line (`fixed
    /// ICE_TRANSPORT_ERROR handling`), not an error report.
    Prose,
    /// Another vendor's error that shares a name (`AgoraRTCError
    /// INVALID_OPERATION:`): the line names another RTC or media SDK.
    OtherVendor,
    /// A test runner's line (`✓ maps KEY (0x4004) to ...`).
    TestOutput,
    /// Source code (`case TRTC.ERROR_CODE.SERVER_ERROR: // 5400`).
    SourceCode,
    /// A table row (`KEY 16387 0x4003 description`, `| KEY | 5300 |`).
    Table,
    /// A hint or definition about a code (`如果遇到错误码 5302，...`,
    /// `extraCode 5302: 当...`, `5302 が出た場合は...`).
    Explanation,
    /// A browser's error name alone (`NotReadableError`) on a line that is
    /// no TRTC record.
    BrowserName,
    /// A number common outside TRTC (SDK 4's 4096-4102 in decimal) after a
    /// code word, on a line that is no TRTC record.
    CommonNumber,
    /// An ignore of the operator's `recognition:` config; holds its label
    /// (`ignored by NAME`).
    Ignored(&'static str),
    /// A generic `code` of another protocol (a WebSocket close `onclose
    /// code:4096 reason:`, an HTTP or socket status).
    OtherProtocol,
}

impl Reject {
    /// The stable name (`why`).
    pub fn name(self) -> &'static str {
        match self {
            Self::NotAWord => "part of a longer word",
            Self::UrlFragment => "URL fragment",
            Self::InfoMention => "mention in an INFO line",
            Self::Setting => "counter or setting",
            Self::ListOfNames => "list of key names",
            Self::GenericKey => "generic key without error form",
            Self::BareNumber => "bare number",
            Self::NotACode => "no catalog code in code context",
            Self::OwnOutput => "trtc-logwatch's own output",
            Self::Comparison => "code compared in source or docs",
            Self::Prose => "key named in prose",
            Self::OtherVendor => "another vendor's error",
            Self::TestOutput => "test output",
            Self::SourceCode => "source code",
            Self::Table => "table row",
            Self::Explanation => "hint or definition of a code",
            Self::OtherProtocol => "another protocol's code",
            Self::Ignored(label) => label,
            Self::BrowserName => "a browser's error name outside a TRTC record",
            Self::CommonNumber => "a number common outside TRTC, outside a TRTC record",
        }
    }
}

/// What `why` shows for one candidate on a line.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// The text of the candidate.
    pub text: String,
    /// Its line in the record, from 0.
    pub line: usize,
    /// The rule that took it, or why not.
    pub outcome: Result<Rule, Reject>,
}
