"""Baseline (c) of the transfer benchmark: the transfer brief's own approach, read everything, then group.

The seed's solution pulled the whole table into a pandas DataFrame, dropped blank rows, grouped by
the month of a date column, summed, serialised the result in memory and uploaded it with one PUT.
Here the table comes from a CSV export made before the clock starts (the seed's time to pull 27M
rows out of Snowflake is not counted, which favours this baseline), and the upload is one PUT to
the benchmark's local S3 server.

usage: python3 bench/transfer_pandas.py CSV ENDPOINT BUCKET KEY
prints one JSON line: seconds, maxRssMb, rows, bytes
"""
import gzip
import json
import resource
import sys
import time
import urllib.request

import pandas as pd


def main() -> None:
    csv_path, endpoint, bucket, key = sys.argv[1:5]
    started = time.perf_counter()
    df = pd.read_csv(csv_path)
    df = df.dropna(how="all")
    df["TIMESTAMP"] = pd.to_datetime(df["TIMESTAMP"]).dt.to_period("M").dt.to_timestamp()
    out = df.groupby("TIMESTAMP", dropna=False).sum(min_count=1).reset_index()
    body = gzip.compress(out.to_json(orient="records", lines=True, date_format="iso").encode("utf-8"))
    request = urllib.request.Request(f"{endpoint}/{bucket}/{key}", data=body, method="PUT")
    with urllib.request.urlopen(request) as response:
        response.read()
    seconds = time.perf_counter() - started
    # ru_maxrss is in kilobytes on Linux
    max_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"case": "pandas", "seconds": seconds, "maxRssMb": max_rss_mb, "rows": len(out), "bytes": len(body)}))


if __name__ == "__main__":
    main()
