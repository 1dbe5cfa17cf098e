"""What one chat message costs the embedded database, by storage layout.

    python bench/message_storage.py [--messages 30000] [--batch 100,1000] [--conversations 20]

Starts the embedded database (on disk, with the same launcher as `python app.py`) once per
layout and batch size, stores message-shaped documents in group commits of the given size, and
prints the database's CPU per message (user + system, read from the process):
- `unique-index`: one document per message, _id = public id, unique (conversation_id, seq)
  index: the layout before the seq-keyed one;
- `seq-keyed`: one document per message under "<conversation>:<seq>" and a MessageKey under the
  public id, both in one transaction: the layout before runs;
- `runs`: what engage.actions.messages writes: a MessageKey per message and, per conversation
  and block, one run holding the commit's messages, in one transaction.
Runs help as far as a commit holds several messages of a conversation: compare
`--conversations 20` (the chat benchmark's) with `--conversations 1000`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bson import ObjectId  # noqa: E402
from pymongo import ASCENDING, AsyncMongoClient  # noqa: E402

from bench.chat import cpu_seconds  # noqa: E402
from engage.embedded import start_mongo  # noqa: E402
from engage.models.message import commit_runs, message_address, message_key  # noqa: E402


def runs_of(docs: list[dict], tails: dict[str, int]) -> list[dict]:
    """The runs a commit of these messages writes (as engage.actions.messages does); moves tails on."""
    by_conversation: dict[str, list[dict]] = {}
    for doc in docs:
        by_conversation.setdefault(str(doc["conversation_id"]), []).append(doc)
    runs = []
    for cid, messages in by_conversation.items():
        made, tails[cid] = commit_runs(cid, messages, tails[cid])
        runs += made
    return runs


async def run(layout: str, messages: int, batch: int, conversations: int) -> float:
    """The database's CPU milliseconds per stored message."""
    server = start_mongo(Path(tempfile.mkdtemp(prefix="engage-bench-storage-")) / "mongo")
    client: AsyncMongoClient = AsyncMongoClient(server.url)
    try:
        db = client["bench"]
        for name in ("messages", "message_keys", "message_runs"):
            await db.create_collection(name)
        if layout == "unique-index":
            await db.messages.create_index([("conversation_id", ASCENDING), ("seq", ASCENDING)], unique=True)
        cids = [str(ObjectId()) for _ in range(conversations)]
        sender = ObjectId()
        seqs = dict.fromkeys(cids, 0)
        tails = dict.fromkeys(cids, 0)  # runs in the block of the next seq
        before = cpu_seconds(server.process.pid)
        for start in range(0, messages, batch):
            docs = []
            for n in range(start, min(start + batch, messages)):
                cid = cids[n % conversations]
                seqs[cid] += 1
                key = message_key(cid, str(sender), f"client-{n}")
                docs.append({
                    "_id": key if layout == "unique-index" else message_address(cid, seqs[cid]), "key": key,
                    "conversation_id": ObjectId(cid), "seq": seqs[cid], "sender_id": sender, "client_id": f"client-{n}",
                    "body": "How is the blood pressure today?", "created_at": time.time(),
                })
            if layout == "unique-index":
                await db.messages.insert_many(docs, ordered=True)
                continue
            async with client.start_session() as session:
                async with await session.start_transaction():
                    await db.message_keys.insert_many([{"_id": d["key"], "message": d["_id"]} for d in docs], ordered=True, session=session)
                    if layout == "seq-keyed":
                        await db.messages.insert_many(docs, ordered=True, session=session)
                    else:
                        await db.message_runs.insert_many(runs_of(docs, tails), ordered=True, session=session)
        return (cpu_seconds(server.process.pid) - before) * 1000 / messages
    finally:
        await client.close()
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=30_000)
    parser.add_argument("--batch", default="100,1000", help="messages per group commit, one run each")
    parser.add_argument("--conversations", type=int, default=20)
    args = parser.parse_args()
    print(f"{args.messages} messages over {args.conversations} conversations; database CPU ms per message")
    layouts = ("unique-index", "seq-keyed", "runs")
    print(f"{'batch':>6} {'unique-index':>13} {'seq-keyed':>10} {'runs':>6}")
    for batch in (int(b) for b in args.batch.split(",")):
        figures = [asyncio.run(run(layout, args.messages, batch, args.conversations)) for layout in layouts]
        print(f"{batch:>6} {figures[0]:>13.3f} {figures[1]:>10.3f} {figures[2]:>6.3f}", flush=True)


if __name__ == "__main__":
    main()
