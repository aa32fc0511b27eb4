"""Typed config models: every llama-swap key with its default, in one place.

YAML keys keep llama-swap's spelling (aliases); Python attributes are snake_case.
`extra="allow"` keeps unknown keys visible (``model_extra``) so the loader can warn
about each one instead of silently dropping it (design.md deviation 9).
These models see the document *after* env substitution and macro expansion.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from llamaswap.config.durations import parse_go_duration


class _Node(BaseModel):
    model_config = ConfigDict(
        extra="allow", populate_by_name=True, frozen=False, coerce_numbers_to_str=True
    )


class Timeouts(_Node):
    """Upstream transport timeouts in seconds; 0 means none."""

    connect: int = 30
    keepalive: int = 30
    response_header: int = Field(0, alias="responseHeader")
    tls_handshake: int = Field(10, alias="tlsHandshake")
    expect_continue: int = Field(1, alias="expectContinue")
    idle_conn: int = Field(90, alias="idleConn")


class Filters(_Node):
    strip_params: str = Field("", alias="stripParams")
    strip_params_legacy: str = Field("", alias="strip_params")
    set_params: dict[str, Any] = Field(default_factory=dict, alias="setParams")
    set_params_by_id: dict[str, dict[str, Any]] = Field(default_factory=dict, alias="setParamsByID")


class Compat(_Node):
    ignore_websockets: bool = Field(False, alias="ignoreWebsockets")


class Capabilities(_Node):
    in_: list[Literal["text", "audio", "image"]] = Field(default_factory=list, alias="in")
    out: list[Literal["text", "audio", "image"]] = Field(default_factory=list)
    tools: bool = False
    reranker: bool = False
    context: int = 0


class ModelConfig(_Node):
    """One `models.<id>` entry, after macro expansion and port allocation."""

    cmd: str = ""
    cmd_stop: str = Field("", alias="cmdStop")
    proxy: str = ""
    aliases: list[str] = Field(default_factory=list)
    env: list[str] = Field(default_factory=list)
    check_endpoint: str = Field("/health", alias="checkEndpoint")
    ttl: int = -1
    unload_timeout: int = Field(0, alias="unloadTimeout")
    unlisted: bool = False
    use_model_name: str = Field("", alias="useModelName")
    name: str = ""
    description: str = ""
    concurrency_limit: int = Field(0, alias="concurrencyLimit")
    filters: Filters = Field(default_factory=Filters)
    macros: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)
    send_loading_state: bool | None = Field(None, alias="sendLoadingState")
    timeouts: Timeouts = Field(default_factory=Timeouts)
    compat: Compat = Field(default_factory=Compat)
    capabilities: Capabilities = Field(default_factory=Capabilities)
    health_check_timeout: int | None = Field(None, alias="healthCheckTimeout")
    """Legacy: accepted, always overwritten by the global value."""

    # Filled in by the loader (not YAML keys):
    id: str = Field("", exclude=True)
    port: int | None = Field(None, exclude=True)
    """Port allocated for ``${PORT}``, if the cmd used it."""


DEFAULT_GROUP = "(default)"
"""The implicit swap+exclusive group of every model no configured group lists."""


class Group(_Node):
    swap: bool = True
    exclusive: bool = True
    persistent: bool = False
    members: list[str] = Field(default_factory=list)


class Matrix(_Node):
    vars: dict[str, str] = Field(default_factory=dict)
    evict_costs: dict[str, int] = Field(default_factory=dict)
    sets: dict[str, str] = Field(default_factory=dict)
    """Ordered: definition order breaks solver ties."""


class RouterSettings(_Node):
    groups: dict[str, Group] = Field(default_factory=dict)
    matrix: Matrix | None = None


class RouterSection(_Node):
    use: str = "group"
    settings: RouterSettings = Field(default_factory=RouterSettings)


class FifoSettings(_Node):
    priority: dict[str, int] = Field(default_factory=dict)
    max_wait: float = Field(120, alias="maxWait")
    """Starvation guard (beyond llama-swap): seconds; 0 disables."""


class SchedulerSettings(_Node):
    fifo: FifoSettings = Field(default_factory=FifoSettings)


class SchedulerSection(_Node):
    use: str = "fifo"
    settings: SchedulerSettings = Field(default_factory=SchedulerSettings)


class Routing(_Node):
    router: RouterSection = Field(default_factory=RouterSection)
    scheduler: SchedulerSection = Field(default_factory=SchedulerSection)


class Profile(_Node):
    """Map form: runtime pins. The legacy list form is kept in ``members``."""

    description: str = ""
    pins: dict[str, str | None] = Field(default_factory=dict)
    members: list[str] = Field(default_factory=list, exclude=True)
    """Legacy list form (design.md deviation 4): models that run together."""


class SelectorSettings(_Node):
    spillover: int = 1


class Selector(_Node):
    strategy: Literal["warm", "pin", "spillover"]
    targets: list[str]
    settings: SelectorSettings = Field(default_factory=SelectorSettings)
    name: str = ""
    description: str = ""
    unlisted: bool = False
    metadata: dict[str, Any] = Field(default_factory=dict)


class PeerTimeouts(Timeouts):
    response_header: int = Field(60, alias="responseHeader")


class Peer(_Node):
    proxy: str = ""
    """Required; the loader reports a missing one with llama-swap's wording."""
    api_key: str = Field("", alias="apiKey")
    models: list[str] = Field(default_factory=list)
    filters: Filters = Field(default_factory=Filters)
    timeouts: PeerTimeouts = Field(default_factory=PeerTimeouts)


class OnStartup(_Node):
    preload: list[str] = Field(default_factory=list)


class Hooks(_Node):
    on_startup: OnStartup = Field(default_factory=OnStartup)


class Upstream(_Node):
    ignore_paths: list[str] = Field(
        default_factory=lambda: [r".*\.(js|json|css|png|gif|jpg|jpeg|ico|txt)$"],
        alias="ignorePaths",
    )


class ActivityUI(_Node):
    session_id: list[str] = Field(default_factory=lambda: ["X-Session-ID", "X-Litellm-Session-Id"])


class UIConfig(_Node):
    activity: ActivityUI = Field(default_factory=ActivityUI)


class Store(_Node):
    path: str = ""


class Performance(_Node):
    disabled: bool = False
    every: str = "5s"
    """A Go duration (``5s``, ``1m30s``); at least 5 s."""

    @property
    def every_seconds(self) -> float:
        return parse_go_duration(self.every)


class Config(_Node):
    """The whole llama-swap config file."""

    models: dict[str, ModelConfig] = Field(default_factory=dict)
    health_check_timeout: int = Field(120, alias="healthCheckTimeout")
    log_level: str = Field("info", alias="logLevel")
    log_time_format: str = Field("", alias="logTimeFormat")
    log_to_stdout: str = Field("proxy", alias="logToStdout")
    log_requests: bool = Field(False, alias="logRequests")
    metrics_max_in_memory: int = Field(1000, alias="metricsMaxInMemory")
    capture_buffer: int = Field(5, alias="captureBuffer")
    store: Store | None = None
    ui: UIConfig = Field(default_factory=UIConfig)
    performance: Performance = Field(default_factory=Performance)
    global_ttl: int = Field(0, alias="globalTTL")
    unload_timeout: int = Field(10, alias="unloadTimeout")
    start_port: int = Field(5800, alias="startPort")
    send_loading_state: bool = Field(False, alias="sendLoadingState")
    include_aliases_in_list: bool = Field(False, alias="includeAliasesInList")
    macros: dict[str, Any] = Field(default_factory=dict)
    api_keys: list[str] = Field(default_factory=list, alias="apiKeys")
    hooks: Hooks = Field(default_factory=Hooks)
    upstream: Upstream = Field(default_factory=Upstream)
    profiles: dict[str, Profile] = Field(default_factory=dict)
    selectors: dict[str, Selector] = Field(default_factory=dict)
    peers: dict[str, Peer] = Field(default_factory=dict)
    routing: Routing = Field(default_factory=Routing)
    groups: dict[str, Group] | None = None
    """Legacy top-level form of ``routing.router.settings.groups``."""
    matrix: Matrix | None = None
    """Legacy top-level form of ``routing.router.settings.matrix``."""

    # Filled in by the loader:
    source_files: list[str] = Field(default_factory=list, exclude=True)
    alias_to_id: dict[str, str] = Field(default_factory=dict, exclude=True)
    """Every alias (incl. auto-registered setParamsByID keys) -> model ID."""

    def resolve_model(self, name: str) -> str | None:
        """Model ID for a requested name: IDs win over aliases."""
        if name in self.models:
            return name
        return self.alias_to_id.get(name)

    def effective_ttl(self, model_id: str) -> int:
        """The model's ``ttl``; -1 (unset) means ``globalTTL``."""
        ttl = self.models[model_id].ttl
        return self.global_ttl if ttl < 0 else ttl

    def effective_unload_timeout(self, model_id: str) -> int:
        """The model's ``unloadTimeout``; 0 (unset) means the global one."""
        t = self.models[model_id].unload_timeout
        return t if t > 0 else self.unload_timeout

    def effective_send_loading_state(self, model_id: str) -> bool:
        """The model's ``sendLoadingState``; unset means the global one."""
        v = self.models[model_id].send_loading_state
        return self.send_loading_state if v is None else v

    def effective_concurrency_limit(self, model_id: str) -> int:
        """The model's ``concurrencyLimit`` (0: 10); ``comfyui_auto`` gets at least 50
        (features.md)."""
        limit = self.models[model_id].concurrency_limit
        if model_id == "comfyui_auto":
            return max(limit, 50)
        return limit if limit > 0 else 10
