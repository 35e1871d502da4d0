"""The pool's schema as the code owns it: every migration, in order, append only (never
edit a released step). solver.pool.schema applies them."""
from __future__ import annotations

# (version, description, SQL). Append only: never edit a released step.
MIGRATIONS: list[tuple[int, str, str]] = [
    (1, "puzzles, solutions, workers, mse history", """
CREATE TABLE puzzles (
    id            serial PRIMARY KEY,
    fingerprint   text NOT NULL UNIQUE,
    n_blocks      int  NOT NULL CHECK (n_blocks > 0),
    target_sha256 text,
    name          text,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE solutions (
    id             bigserial PRIMARY KEY,
    puzzle_id      int NOT NULL REFERENCES puzzles(id),
    permutation    int[] NOT NULL,
    mse            double precision NOT NULL CHECK (mse >= 0 AND mse <> 'NaN' AND mse <> 'Infinity'),
    answer_sha256  text NOT NULL,
    matches_target boolean NOT NULL DEFAULT false,
    node           text,
    worker_id      bigint,
    origin         text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (puzzle_id, answer_sha256)
);
CREATE INDEX solutions_by_mse ON solutions (puzzle_id, mse);
CREATE TABLE workers (
    id          bigserial PRIMARY KEY,
    puzzle_id   int REFERENCES puzzles(id),
    node        text NOT NULL,
    pid         int,
    status      text NOT NULL DEFAULT 'starting',
    run         int NOT NULL DEFAULT 0,
    step        bigint NOT NULL DEFAULT 0,
    temperature double precision,
    current_mse double precision,
    best_mse    double precision,
    moves_per_s double precision,
    heartbeat   timestamptz NOT NULL DEFAULT now(),
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);
CREATE INDEX workers_by_status ON workers (status, heartbeat);
CREATE TABLE mse_history (
    id        bigserial PRIMARY KEY,
    worker_id bigint NOT NULL REFERENCES workers(id),
    at        timestamptz NOT NULL DEFAULT now(),
    run       int NOT NULL,
    step      bigint NOT NULL,
    mse       double precision,
    best_mse  double precision
);
CREATE INDEX mse_history_by_worker ON mse_history (worker_id, at);
"""),
    (2, "config knobs, operator commands, observations, refusals", """
CREATE TABLE config (
    key        text PRIMARY KEY,
    value      double precision NOT NULL,
    version    int NOT NULL DEFAULT 1,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by text NOT NULL DEFAULT 'default'
);
CREATE TABLE commands (
    id          bigserial PRIMARY KEY,
    puzzle_id   int REFERENCES puzzles(id),
    kind        text NOT NULL,
    args        jsonb NOT NULL DEFAULT '{}',
    target      text,
    status      text NOT NULL DEFAULT 'pending',
    created_at  timestamptz NOT NULL DEFAULT now(),
    claimed_by  text,
    claimed_at  timestamptz,
    finished_at timestamptz,
    result      jsonb
);
CREATE INDEX commands_pending ON commands (status, id);
CREATE TABLE observations (
    id        bigserial PRIMARY KEY,
    puzzle_id int REFERENCES puzzles(id),
    at        timestamptz NOT NULL DEFAULT now(),
    kind      text NOT NULL,
    message   text NOT NULL,
    stats     jsonb NOT NULL DEFAULT '{}',
    changes   jsonb NOT NULL DEFAULT '{}'
);
CREATE TABLE refusals (
    id        bigserial PRIMARY KEY,
    puzzle_id int,
    at        timestamptz NOT NULL DEFAULT now(),
    node      text,
    worker_id bigint,
    origin    text,
    reason    text NOT NULL,
    payload   text
);
"""),
    (3, "lineage, exit reasons, door checks in the database, change notifications", """
ALTER TABLE solutions ADD COLUMN parents bigint[] NOT NULL DEFAULT '{}';
ALTER TABLE workers ADD COLUMN exit_reason text;
ALTER TABLE workers ADD COLUMN config_version int;

-- A second line of defence behind the code's validation: shape of the permutation.
CREATE FUNCTION jstui_check_permutation() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE n int; total int;
BEGIN
    SELECT 2 * n_blocks + 1 INTO total FROM puzzles WHERE id = NEW.puzzle_id;
    n := cardinality(NEW.permutation);
    IF n <> total THEN
        RAISE EXCEPTION 'permutation has % entries, the puzzle needs %', n, total;
    END IF;
    IF (SELECT count(DISTINCT v) FROM unnest(NEW.permutation) v WHERE v BETWEEN 0 AND total - 1) <> total THEN
        RAISE EXCEPTION 'permutation is not a permutation of 0..%', total - 1;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER solutions_check BEFORE INSERT ON solutions
    FOR EACH ROW EXECUTE FUNCTION jstui_check_permutation();

-- One notification per statement: a UI re-queries the named table.
CREATE FUNCTION jstui_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('jstui_pool', TG_TABLE_NAME);
    RETURN NULL;
END $$;
CREATE TRIGGER solutions_notify AFTER INSERT OR UPDATE OR DELETE ON solutions
    FOR EACH STATEMENT EXECUTE FUNCTION jstui_notify();
CREATE TRIGGER workers_notify AFTER INSERT OR UPDATE ON workers
    FOR EACH STATEMENT EXECUTE FUNCTION jstui_notify();
CREATE TRIGGER config_notify AFTER INSERT OR UPDATE ON config
    FOR EACH STATEMENT EXECUTE FUNCTION jstui_notify();
CREATE TRIGGER commands_notify AFTER INSERT OR UPDATE ON commands
    FOR EACH STATEMENT EXECUTE FUNCTION jstui_notify();
CREATE TRIGGER observations_notify AFTER INSERT ON observations
    FOR EACH STATEMENT EXECUTE FUNCTION jstui_notify();
CREATE TRIGGER refusals_notify AFTER INSERT ON refusals
    FOR EACH STATEMENT EXECUTE FUNCTION jstui_notify();
"""),
    (4, "indexes for the control center's start-up reads", """
-- current_puzzle_id() takes max(created_at) / max(started_at) per puzzle, and the best-
-- over-time curve walks solutions in created_at order: without these, a full scan each.
CREATE INDEX solutions_by_time ON solutions (puzzle_id, created_at, id);
CREATE INDEX workers_by_start ON workers (puzzle_id, started_at);
"""),
    (5, "one vocabulary of worker states; the worker's progress in the solver's words", """
-- The words of solver.pool.lifecycle.WorkerState: older workers wrote these three others.
UPDATE workers SET status = CASE status WHEN 'finished' THEN 'done' WHEN 'failed' THEN 'crashed'
                                        ELSE 'running' END
 WHERE status IN ('finished', 'failed', 'starting');
ALTER TABLE workers ALTER COLUMN status SET DEFAULT 'running';
-- What the solver reports as it goes, keyed as it reports it (moves_per_s counted
-- evaluations: it is evals_per_s there), and what the worker adds (how its run started).
ALTER TABLE workers ADD COLUMN progress jsonb NOT NULL DEFAULT '{}';
UPDATE workers SET progress = jsonb_strip_nulls(jsonb_build_object(
    'temperature', temperature, 'mse', current_mse, 'evals_per_s', moves_per_s));
ALTER TABLE workers DROP COLUMN temperature, DROP COLUMN current_mse, DROP COLUMN moves_per_s;
"""),
    (6, "worker history at a coarse grain, for replaying a run; its retention", """
-- What the workers table said, one sample per worker every history_grain_s seconds and at
-- every change of state, so that `jstui replay` can show the workers as they were at any
-- time. A trigger writes it: every path that changes a worker row (beat, heartbeat,
-- finish, mark_lost) is covered, whichever client runs it. No foreign key: history
-- outlives nothing, and the BEFORE INSERT sample comes before its worker row exists.
CREATE TABLE worker_history (
    id          bigserial PRIMARY KEY,
    worker_id   bigint NOT NULL,
    puzzle_id   int,
    at          timestamptz NOT NULL DEFAULT now(),
    heartbeat   timestamptz NOT NULL,
    status      text NOT NULL,
    run         int NOT NULL,
    step        bigint NOT NULL,
    best_mse    double precision,
    progress    jsonb NOT NULL DEFAULT '{}'
);
-- A replay reads each worker's sample at t (and the next, and its last bests) from this.
CREATE INDEX worker_history_by_worker ON worker_history (worker_id, at);
CREATE INDEX worker_history_by_time ON worker_history (at);
ALTER TABLE workers ADD COLUMN sampled_at timestamptz;

CREATE FUNCTION jstui_worker_sample() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE grain float8; keep float8;
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.status IS NOT DISTINCT FROM OLD.status
            AND OLD.sampled_at IS NOT NULL THEN
        grain := coalesce((SELECT value FROM config WHERE key = 'history_grain_s'), 60);
        IF now() < OLD.sampled_at + make_interval(secs => grain) THEN
            RETURN NEW;
        END IF;
    END IF;
    INSERT INTO worker_history (worker_id, puzzle_id, heartbeat, status, run, step, best_mse,
                                progress)
    VALUES (NEW.id, NEW.puzzle_id, NEW.heartbeat, NEW.status, NEW.run, NEW.step,
            NEW.best_mse, NEW.progress);
    NEW.sampled_at := now();
    -- Retention: this worker's old samples at each sample; everyone's when a worker
    -- starts (ended workers take no samples any more).
    keep := coalesce((SELECT value FROM config WHERE key = 'history_keep_days'), 30);
    DELETE FROM worker_history
     WHERE at < now() - make_interval(secs => keep * 86400)
       AND (TG_OP = 'INSERT' OR worker_id = NEW.id);
    RETURN NEW;
END $$;
CREATE TRIGGER workers_sample BEFORE INSERT OR UPDATE ON workers
    FOR EACH ROW EXECUTE FUNCTION jstui_worker_sample();
-- A replay reads these columns of every solution: from the index alone, not the
-- permutations' heap pages.
CREATE INDEX solutions_timeline ON solutions (puzzle_id) INCLUDE (created_at, id, mse,
                                                                   matches_target);
"""),
    (7, "lineage of every solution, progress and cancel of commands, interventions judged", """
-- Where a solution came from, beside origin and parents: the worker's run, how that run
-- started (seed:norm, elite, crossover, adopted; inject:KIND, surgery for the tools) and
-- the operator's or observer's command that made it.
ALTER TABLE solutions ADD COLUMN run int;
ALTER TABLE solutions ADD COLUMN method text;
ALTER TABLE solutions ADD COLUMN command_id bigint;
-- A long command (surgery) reports how far it got, and can be asked to stop.
ALTER TABLE commands ADD COLUMN progress jsonb NOT NULL DEFAULT '{}';
ALTER TABLE commands ADD COLUMN cancel_requested boolean NOT NULL DEFAULT false;
-- Every intervention of the observer (knob change, injection, surgery) with the pool's
-- best before it and, once its window is over, after it.
CREATE TABLE interventions (
    id          bigserial PRIMARY KEY,
    puzzle_id   int REFERENCES puzzles(id),
    at          timestamptz NOT NULL DEFAULT now(),
    kind        text NOT NULL,
    detail      jsonb NOT NULL DEFAULT '{}',
    reason      text NOT NULL DEFAULT '',
    command_id  bigint,
    window_s    double precision NOT NULL CHECK (window_s > 0),
    best_before double precision,
    best_after  double precision,
    judged_at   timestamptz
);
CREATE INDEX interventions_by_puzzle ON interventions (puzzle_id, id);
-- Every heartbeat asks whether the answer is in: "matches_target OR mse < x" scanned all
-- of a puzzle's solutions (a cost growing with fleet size times pool size); split in
-- two EXISTS, one reads this partial index, the other solutions_by_mse.
CREATE INDEX solutions_exact ON solutions (puzzle_id) WHERE matches_target;
CREATE TRIGGER interventions_notify AFTER INSERT OR UPDATE ON interventions
    FOR EACH STATEMENT EXECUTE FUNCTION jstui_notify();
"""),
    (8, "one rule for exact, the event book, the observer's lease, knob defaults", """
-- "Exact" is decided once, at the door, by solver.puzzle.answer.is_exact (the target hash
-- when the puzzle has one, else the float64 MSE at float32 rounding level relative to
-- var(pred)), and stored: every count, the heartbeat and the replay read this column.
-- Rows stored before it get the rule the pool used then (the hash, or an MSE < 1e-10).
ALTER TABLE solutions ADD COLUMN exact boolean NOT NULL DEFAULT false;
UPDATE solutions s SET exact = s.matches_target OR (p.target_sha256 IS NULL AND s.mse < 1e-10)
  FROM puzzles p WHERE p.id = s.puzzle_id;
DROP INDEX solutions_exact;
CREATE INDEX solutions_exact ON solutions (puzzle_id) WHERE exact;
DROP INDEX solutions_timeline;
CREATE INDEX solutions_timeline ON solutions (puzzle_id) INCLUDE (created_at, id, mse, exact);

-- The event book: every event of a run, whoever saw it, with its time. The screens,
-- `serve` and replay all read it here. ONCE_KEY makes a fact seen by several writers
-- (the answer) one event.
CREATE TABLE events (
    id         bigserial PRIMARY KEY,
    puzzle_id  int,
    at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    kind       text NOT NULL,
    source     text NOT NULL,
    text       text NOT NULL DEFAULT '',
    node       text,
    worker_id  bigint,
    command_id bigint,
    detail     jsonb NOT NULL DEFAULT '{}',
    once_key   text UNIQUE
);
CREATE INDEX events_by_time ON events (at, id);
CREATE INDEX events_by_puzzle ON events (puzzle_id, at, id);
CREATE TRIGGER events_notify AFTER INSERT ON events
    FOR EACH STATEMENT EXECUTE FUNCTION jstui_notify();

-- Every change of a worker's state is an event, whichever path made it (register, beat,
-- finish, an exit record, mark_lost); the text is written from DETAIL by the code.
CREATE FUNCTION jstui_worker_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.status IS DISTINCT FROM OLD.status THEN
        INSERT INTO events (puzzle_id, kind, source, node, worker_id, detail)
        VALUES (NEW.puzzle_id, 'worker', 'pool', NEW.node, NEW.id, jsonb_build_object(
            'pid', NEW.pid, 'to', NEW.status, 'reason', NEW.exit_reason,
            'from', CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END));
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER workers_event AFTER INSERT OR UPDATE OF status ON workers
    FOR EACH ROW EXECUTE FUNCTION jstui_worker_event();

-- The answer, once per puzzle, when the first exact solution is stored.
CREATE FUNCTION jstui_answer_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO events (puzzle_id, at, kind, source, node, worker_id, detail, once_key)
    VALUES (NEW.puzzle_id, NEW.created_at, 'answer', 'pool', NEW.node, NEW.worker_id,
            jsonb_build_object('solution_id', NEW.id, 'sha256', NEW.answer_sha256,
                               'mse', NEW.mse, 'origin', NEW.origin),
            'answer:' || NEW.puzzle_id)
    ON CONFLICT (once_key) DO NOTHING;
    RETURN NULL;
END $$;
CREATE TRIGGER solutions_answer_event AFTER INSERT ON solutions
    FOR EACH ROW WHEN (NEW.exact) EXECUTE FUNCTION jstui_answer_event();
INSERT INTO events (puzzle_id, at, kind, source, node, worker_id, detail, once_key)
SELECT DISTINCT ON (puzzle_id) puzzle_id, created_at, 'answer', 'pool', node, worker_id,
       jsonb_build_object('solution_id', id, 'sha256', answer_sha256, 'mse', mse,
                          'origin', origin), 'answer:' || puzzle_id
  FROM solutions WHERE exact ORDER BY puzzle_id, created_at, id;

-- A refusal at the door, and a command that ended, are events too.
CREATE FUNCTION jstui_refusal_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO events (puzzle_id, at, kind, source, text, node, worker_id)
    VALUES (NEW.puzzle_id, NEW.at, 'refusal', 'pool', NEW.reason, NEW.node, NEW.worker_id);
    RETURN NULL;
END $$;
CREATE TRIGGER refusals_event AFTER INSERT ON refusals
    FOR EACH ROW EXECUTE FUNCTION jstui_refusal_event();
CREATE FUNCTION jstui_command_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO events (puzzle_id, kind, source, command_id, detail)
    VALUES (NEW.puzzle_id,
            CASE WHEN NEW.status = 'failed' THEN 'error'
                 WHEN NEW.kind IN ('inject', 'surgery', 'stop') THEN NEW.kind ELSE 'action' END,
            CASE WHEN NEW.claimed_by LIKE 'worker:%' THEN 'pool' ELSE 'observer' END,
            NEW.id, jsonb_build_object('command', NEW.kind, 'status', NEW.status,
                                       'result', NEW.result, 'by', NEW.claimed_by));
    RETURN NULL;
END $$;
CREATE TRIGGER commands_event AFTER UPDATE OF status ON commands
    FOR EACH ROW WHEN (NEW.status IS DISTINCT FROM OLD.status
                       AND NEW.status IN ('done', 'failed', 'cancelled'))
    EXECUTE FUNCTION jstui_command_event();

-- At most one observer acts per pool: the holder of this row, while it beats.
CREATE TABLE observer_lease (
    pool        boolean PRIMARY KEY DEFAULT true CHECK (pool),
    node        text NOT NULL,
    pid         int NOT NULL,
    puzzle_id   int,
    acquired_at timestamptz NOT NULL DEFAULT now(),
    beat_at     timestamptz NOT NULL DEFAULT now()
);

-- The history sample's grain and retention come from the knobs' rows (connect writes
-- every knob with its default from solver.pool.knobs), not from literals here.
CREATE OR REPLACE FUNCTION jstui_worker_sample() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE grain float8; keep float8;
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.status IS NOT DISTINCT FROM OLD.status
            AND OLD.sampled_at IS NOT NULL THEN
        grain := (SELECT value FROM config WHERE key = 'history_grain_s');
        IF grain IS NOT NULL AND now() < OLD.sampled_at + make_interval(secs => grain) THEN
            RETURN NEW;
        END IF;
    END IF;
    INSERT INTO worker_history (worker_id, puzzle_id, heartbeat, status, run, step, best_mse,
                                progress)
    VALUES (NEW.id, NEW.puzzle_id, NEW.heartbeat, NEW.status, NEW.run, NEW.step,
            NEW.best_mse, NEW.progress);
    NEW.sampled_at := now();
    keep := (SELECT value FROM config WHERE key = 'history_keep_days');
    IF keep IS NOT NULL THEN
        DELETE FROM worker_history
         WHERE at < now() - make_interval(secs => keep * 86400)
           AND (TG_OP = 'INSERT' OR worker_id = NEW.id);
    END IF;
    RETURN NEW;
END $$;
"""),
    (9, "the puzzle's var(pred), so every screen can say how close the pool is", """
-- Written by whoever registers the puzzle (it has loaded it); NULL for puzzles registered
-- before, until the next registration fills it in.
ALTER TABLE puzzles ADD COLUMN pred_var double precision
    CHECK (pred_var IS NULL OR (pred_var > 0 AND pred_var <> 'Infinity'));
"""),
]
