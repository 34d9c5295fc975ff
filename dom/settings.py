"""One typed settings object, read from the environment (DOM_*) and validated at start-up."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from inventory import DEFAULT_CART_TTL_S, MAX_CART_SKUS, MAX_HOLD_TTL_S


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DOM_", env_file=".env", extra="ignore")

    # Empty means the embedded default: a SQLite file and a Redis server started by this process.
    database_url: str = ""
    redis_url: str = ""
    # The URL names one node of a Redis Cluster; the client finds the others. Per-SKU keys carry a
    # {sku} hash tag, so every atomic write stays on one shard.
    redis_cluster: bool = False
    redis_prefix: str = Field(default="dom", pattern=r"^[A-Za-z0-9_-]{1,32}$")
    data_dir: Path = Path("var")
    # NORMAL: a commit survives a crash of the process; FULL: also a power cut, at a disk flush
    # per commit. Only the embedded SQLite ledger reads it.
    sqlite_synchronous: Literal["NORMAL", "FULL"] = "NORMAL"
    # How long a cart hold that names no TTL stays held before it expires by itself.
    reservation_ttl_s: int = Field(default=DEFAULT_CART_TTL_S, ge=1, le=MAX_HOLD_TTL_S)
    expiry_sweep_interval_s: float = Field(default=1.0, gt=0, le=3600)
    # How often a running process tells SQL it lives and checks that it can still vouch for the
    # projection (a Redis server that restarted is rebuilt from SQL). At most 30 s: a process on
    # another host not heard of for 60 s is taken as gone (inventory.projection.freshness).
    projection_check_interval_s: float = Field(default=10.0, gt=0, le=30)
    # How often a long-running process looks for webhooks to deliver (events committed by this
    # process wake it at once), and how long a receiver has to answer a delivery. A stop waits
    # for the deliveries under way, so at most the timeout.
    webhook_poll_interval_s: float = Field(default=1.0, gt=0, le=60)
    webhook_timeout_s: float = Field(default=5.0, gt=0, le=20)
    # Lines one cart availability call may ask about (at most the reader's MAX_CART_SKUS).
    cart_max_lines: int = Field(default=100, ge=1, le=MAX_CART_SKUS)
    # /metrics answers a scrape from this machine without a key; elsewhere it needs the scope.
    metrics_open_on_loopback: bool = True
    # Requests a second one API key may make, shared by every API process (counted in Redis);
    # a key created with its own rate overrides it.
    api_rate_limit_per_s: int = Field(default=5_000, ge=1, le=1_000_000)

    # Orders. Routings of one submission when concurrent orders take its stock first.
    order_route_attempts: int = Field(default=3, ge=1, le=10)
    # Rejections of one order before it waits for a person instead of being routed again.
    order_max_rejections: int = Field(default=3, ge=1, le=100)
    # How long a location that rejected an order's shipment is left out of that order.
    order_exclusion_s: int = Field(default=24 * 3600, ge=0, le=90 * 24 * 3600)
    # How long backordered units wait for stock before they are cancelled.
    order_parked_max_s: int = Field(default=7 * 24 * 3600, ge=1, le=365 * 24 * 3600)
    # How often a running process routes parked orders again even if no stock change woke it.
    order_sweep_interval_s: float = Field(default=30.0, gt=0, le=3600)

    @model_validator(mode="after")
    def _cluster_needs_a_url(self) -> Settings:
        if self.redis_cluster and not self.redis_url:
            raise ValueError(
                "DOM_REDIS_CLUSTER needs DOM_REDIS_URL: the embedded Redis is one node"
            )
        return self

    @property
    def sql_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'dom.sqlite'}"

    @property
    def embedded_redis(self) -> bool:
        return not self.redis_url


@lru_cache
def get_settings() -> Settings:
    return Settings()
