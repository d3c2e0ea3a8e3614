"""The FRACTAL random forest in Spark MLlib, as a `harness run command` job launched once.

Spark's own scheduler runs the point: launched with `--param launch=once`, the job is one
process given every executor's CPUs and memory (HARNESS_PROCESS_CORES, _MEMORY_BYTES), and
runs Spark in `local[HARNESS_PROCESS_CORES]` with 3/4 of that memory as the driver's heap (in
local mode the driver JVM is the only JVM). The pipeline is the FRACTAL reference's: seven
features — z (xyz[2]), Intensity, Red, Green, Blue, Infrared and NDVI = (NIR − R) / (NIR + R),
0 when NIR + R = 0 — assembled into a vector, then RandomForestClassifier(numTrees=40,
maxDepth=6, seed=62) on the LAS code as label, other parameters Spark's defaults; accuracy on
the val and test files. (The reference scales z with a StandardScaler first; a tree's splits do
not change under scaling, so this job leaves z as it is.)

It reads what the harness gives: HARNESS_FILES (the point's fraction of train/, the first
max(1, ⌊n × fraction⌋) files by name, as the harness's own engines read), HARNESS_VAL_FILES
and HARNESS_TEST_FILES (whole splits), of which it scores the first max(1, ⌊n × F⌋) files for
the parameter `eval_fraction = F` (1 by default; "fraction" for the point's fraction), as
fractal-rf's `eval_fraction` does. Nothing is cached, so `fit` reads the parquet as the
reference's does. Rank 0 prints the result line: training_time_sec (Spark's `fit`, timed
here), val_accuracy, test_accuracy, accuracy (= test), and session_sec, load_sec, train_rows.

Needs pyspark and a Java runtime (`.ci/install --tests` puts pyspark in
/opt/harness-tools/spark and Debian's JRE 17 on the machine):

    harness data generate fractal --out data/fractal
    harness run command --data data/fractal --fraction 0.1 --executors 1 --cores 1,2 \
        --memory 4g --param launch=once -- \
        /opt/harness-tools/spark/bin/python examples/spark-rf-fractal/job.py
"""

import json
import math
import os
import sys
import time

FEATURES = ["z", "Intensity", "Red", "Green", "Blue", "Infrared", "ndvi"]


def session(cores, memory_bytes):
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    heap_mb = max(512, int(memory_bytes * 0.75) >> 20)
    return (
        SparkSession.builder.appName(f"fractal-rf-spark-{cores}c")
        .master(f"local[{cores}]")
        .config("spark.driver.memory", f"{heap_mb}m")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", str(cores * 4))
        .getOrCreate()
    )


def points(spark, files):
    """The seven features and the label of `files` (absolute parquet paths)."""
    from pyspark.sql.functions import col, when

    ir, red = col("Infrared"), col("Red")
    return spark.read.parquet(*files).select(
        col("xyz")[2].alias("z"),
        "Intensity",
        "Red",
        "Green",
        "Blue",
        "Infrared",
        when((ir + red) != 0, (ir - red) / (ir + red)).otherwise(0.0).alias("ndvi"),
        col("Classification").cast("double").alias("label"),
    )


def first_share(files, share):
    """The first max(1, ⌊n × share⌋) of `files` by name (the harness's rule for a fraction)."""
    files = sorted(files)
    return files[: min(len(files), max(1, math.floor(len(files) * share + 1e-9)))]


def main():
    env = os.environ
    train_files = env["HARNESS_FILES"].splitlines()
    val_files = env["HARNESS_VAL_FILES"].splitlines()
    test_files = env["HARNESS_TEST_FILES"].splitlines()
    if not (train_files and val_files and test_files):
        raise SystemExit("needs --data with train/ val/ test/ (harness data generate fractal)")
    params = json.loads(env.get("HARNESS_PARAMS", "{}"))
    trees, depth = int(params.get("trees", 40)), int(params.get("max_depth", 6))
    seed = int(params.get("seed", 62))
    share = params.get("eval_fraction", 1.0)
    share = float(env["HARNESS_FRACTION"]) if share == "fraction" else float(share)
    val_files, test_files = first_share(val_files, share), first_share(test_files, share)

    t = time.perf_counter()
    spark = session(int(env["HARNESS_PROCESS_CORES"]), int(env["HARNESS_PROCESS_MEMORY_BYTES"]))
    spark.sparkContext.setLogLevel("WARN")
    session_sec = time.perf_counter() - t

    from pyspark.ml import Pipeline
    from pyspark.ml.classification import RandomForestClassifier
    from pyspark.ml.evaluation import MulticlassClassificationEvaluator
    from pyspark.ml.feature import VectorAssembler

    t = time.perf_counter()
    train, val, test = (points(spark, f) for f in (train_files, val_files, test_files))
    train_rows = train.count()
    load_sec = time.perf_counter() - t

    pipeline = Pipeline(
        stages=[
            VectorAssembler(inputCols=FEATURES, outputCol="features", handleInvalid="skip"),
            RandomForestClassifier(numTrees=trees, maxDepth=depth, seed=seed),
        ]
    )
    t = time.perf_counter()
    model = pipeline.fit(train)
    fit_sec = time.perf_counter() - t

    accuracy = MulticlassClassificationEvaluator(metricName="accuracy")
    val_acc = accuracy.evaluate(model.transform(val))
    test_acc = accuracy.evaluate(model.transform(test))
    spark.stop()
    print(
        json.dumps(
            {
                "training_time_sec": fit_sec,
                "val_accuracy": val_acc,
                "test_accuracy": test_acc,
                "accuracy": test_acc,
                "session_sec": session_sec,
                "load_sec": load_sec,
                "train_rows": train_rows,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
