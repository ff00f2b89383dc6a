"""`hearth providers add|list|remove|test` and `hearth usage`."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from app.engine_client import EngineClient


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    providers = sub.add_parser("providers", help="remote OpenAI-compatible providers")
    psub = providers.add_subparsers(dest="providers_command", required=True)
    add = psub.add_parser("add", help="add or update a provider")
    add.add_argument("name")
    add.add_argument(
        "--preset", help="openai, deepseek, qwen, moonshot, groq, openrouter, self-hosted"
    )
    add.add_argument("--base-url")
    add.add_argument("--model", action="append", dest="models", help="a model id (repeat)")
    add.add_argument("--key-name", help="the name of its API key in `hearth keys`")
    add.add_argument("--price-in", type=float, help="price per million input tokens")
    add.add_argument("--price-out", type=float, help="price per million output tokens")
    add.add_argument("--currency")
    add.add_argument("--monthly-budget", type=float)
    psub.add_parser("list", help="configured providers")
    remove = psub.add_parser("remove", help="remove a provider")
    remove.add_argument("name")
    test = psub.add_parser("test", help="check that a provider answers")
    test.add_argument("name")
    usage = sub.add_parser("usage", help="tokens and cost, by day, model or provider")
    usage.add_argument("--by", choices=["day", "model", "provider"], default="provider")


def run_providers(client: EngineClient, args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    if args.providers_command == "add":
        made = client.add_provider(
            name=args.name, preset=args.preset, base_url=args.base_url, models=args.models,
            key_name=args.key_name, price_in=args.price_in, price_out=args.price_out,
            currency=args.currency, monthly_budget=args.monthly_budget,
        )  # fmt: skip
        print(
            f"saved {made.name}: {made.base_url} ({', '.join(made.models) or 'no models'})",
            file=out,
        )
    elif args.providers_command == "remove":
        client.remove_provider(args.name)
        print(f"removed {args.name}", file=out)
    elif args.providers_command == "test":
        models = client.test_provider(args.name)
        print(f"{args.name} answers; models: {', '.join(models) or '(none listed)'}", file=out)
    else:
        print(f"{'NAME':16} {'BASE URL':44} {'MODELS':24} PRICES (in/out per 1M)", file=out)
        for p in client.providers():
            prices = (
                f"{p.price_in:g}/{p.price_out:g} {p.currency}" if p.price_in is not None else "-"
            )
            print(f"{p.name:16} {p.base_url:44} {','.join(p.models)[:24]:24} {prices}", file=out)
    return 0


def run_usage(client: EngineClient, args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    header = f"{args.by.upper():28} {'REQUESTS':>8} {'PROMPT':>9} {'COMPLETION':>10}"
    print(f"{header} {'CACHED':>7} {'COST':>12}", file=out)
    for row in client.usage(group_by=args.by):
        cost = f"{row['cost']:.6f} {row['currency'] or ''}" if row["cost"] is not None else "-"
        print(
            f"{str(row['grp'])[:28]:28} {row['requests']:>8} {row['prompt_tokens'] or 0:>9} "
            f"{row['completion_tokens'] or 0:>10} {row['cached_requests'] or 0:>7} {cost:>12}",
            file=out,
        )
    return 0
