package io.quarry.mining;

import java.time.Duration;
import java.util.List;
import java.util.UUID;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

/** Runs of the scheduler and the per-(user, stream) chain state. */
@Repository
public class MiningStateRepository {

  /** Why a chain stopped. */
  public enum StopReason {
    END_OF_DATA,
    NO_NEW_DATA,
    MARKER_REPEATED,
    MARKER_CYCLE,
    MAX_PAGES,
    UNAUTHORIZED,
    NO_TOKEN;

    public String code() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  /**
   * A chain's state as the miner needs it, with the user's external id and sealed access token
   * (read in the same query).
   *
   * @param accessToken the token as stored (encrypted), null when the user has none
   * @param earlierItems whether an earlier run of this user and stream mined items (recorded when
   *     the run was claimed): only then can a page consist of data stored before
   */
  public record ChainState(
      String status,
      UUID runId,
      long pagesMined,
      List<String> seenMarkers,
      String externalId,
      byte[] accessToken,
      boolean earlierItems) {}

  private final JdbcClient jdbc;

  public MiningStateRepository(JdbcClient jdbc) {
    this.jdbc = jdbc;
  }

  public void startRun(UUID runId, String stream) {
    jdbc.sql("insert into scheduler_run (run_id, stream) values (:run, :stream)")
        .param("run", runId)
        .param("stream", stream)
        .update();
  }

  public void finishRun(UUID runId, int read, int scheduled, int skipped) {
    jdbc.sql(
            """
            update scheduler_run set finished_at = now(), outcome = 'succeeded', users_read = :read,
                   users_scheduled = :scheduled, users_skipped = :skipped
             where run_id = :run
            """)
        .param("run", runId)
        .param("read", read)
        .param("scheduled", scheduled)
        .param("skipped", skipped)
        .update();
  }

  public void failRun(UUID runId, String error) {
    jdbc.sql(
            "update scheduler_run set finished_at = now(), outcome = 'failed', error = :error where run_id = :run")
        .param("run", runId)
        .param("error", error)
        .update();
  }

  /** Active users that may be mined (not waiting for re-authorisation). */
  public List<Long> activeUsers() {
    return jdbc.sql(
            "select id from app_user where active and not needs_reauthorization order by id")
        .query(Long.class)
        .list();
  }

  /**
   * Marks the users' chains of this stream as in progress for the run, except those whose previous
   * chain is still in progress (and not stale); returns the users claimed. A chain whose previous
   * run mined items is marked {@code mined_before}, for incremental mining (a run that failed
   * before it recorded its first items leaves the mark unset: the next run then fetches without the
   * per-page check, storing nothing twice).
   */
  public List<Long> claim(String stream, UUID runId, List<Long> users, Duration staleAfter) {
    if (users.isEmpty()) {
      return List.of();
    }
    return jdbc.sql(
            """
            insert into mining_state (user_id, stream, status, run_id, started_at, run_started_at,
                                      updated_at, seen_markers)
            select u, :stream, 'in_progress', :run, now(), now(), now(), '{}'
              from unnest(:users) as u
            on conflict (user_id, stream) do update
               set status = 'in_progress', run_id = excluded.run_id, started_at = now(),
                   run_started_at = now(), updated_at = now(), finished_at = null,
                   current_marker = null, pages_mined = 0, items_mined = 0, stop_reason = null,
                   last_error = null, seen_markers = '{}',
                   mined_before = mining_state.mined_before or mining_state.items_mined > 0
             where mining_state.status <> 'in_progress'
                or mining_state.updated_at < now() - make_interval(secs => :stale)
            returning user_id
            """)
        .param("stream", stream)
        .param("run", runId)
        .param("users", users.toArray(Long[]::new))
        .param("stale", staleAfter.toSeconds())
        .query(Long.class)
        .list();
  }

  public java.util.Optional<ChainState> chainState(long userId, String stream) {
    return jdbc.sql(
            """
            select s.status, s.run_id, s.pages_mined, s.seen_markers, u.external_id,
                   u.access_token, s.mined_before
              from mining_state s join app_user u on u.id = s.user_id
             where s.user_id = :user and s.stream = :stream
            """)
        .param("user", userId)
        .param("stream", stream)
        .query(
            (rs, n) ->
                new ChainState(
                    rs.getString(1),
                    rs.getObject(2, UUID.class),
                    rs.getLong(3),
                    List.of((String[]) rs.getArray(4).getArray()),
                    rs.getString(5),
                    rs.getBytes(6),
                    rs.getBoolean(7)))
        .optional();
  }

  /** Records progress after a message: still in progress, at the next marker. */
  public void progress(MiningMessage next, List<String> newMarkers) {
    jdbc.sql(
            """
            update mining_state
               set current_marker = :marker, pages_mined = :pages, items_mined = :items,
                   seen_markers = seen_markers || :markers, updated_at = now()
             where user_id = :user and stream = :stream and run_id = :run
               and pages_mined <= :pages
            """)
        .param("marker", next.currentMarker())
        .param("pages", next.pagesMined())
        .param("items", next.itemsMined())
        .param("markers", newMarkers.toArray(String[]::new))
        .param("user", next.userId())
        .param("stream", next.stream())
        .param("run", next.runId())
        .update();
  }

  /** Ends the chain: completed or stopped with its reason. */
  public void finish(MiningMessage last, StopReason reason, String detail) {
    String status =
        switch (reason) {
          case END_OF_DATA, NO_NEW_DATA -> "completed";
          default -> "stopped";
        };
    jdbc.sql(
            """
            update mining_state
               set status = :status, stop_reason = :reason, last_error = :detail,
                   current_marker = :marker, pages_mined = :pages, items_mined = :items,
                   updated_at = now(), finished_at = now()
             where user_id = :user and stream = :stream and run_id = :run
            """)
        .param("status", status)
        .param("reason", reason.code())
        .param("detail", detail)
        .param("marker", last.currentMarker())
        .param("pages", last.pagesMined())
        .param("items", last.itemsMined())
        .param("user", last.userId())
        .param("stream", last.stream())
        .param("run", last.runId())
        .update();
  }

  /** Ends the chain as failed (its message was dead-lettered). */
  public void fail(long userId, String stream, UUID runId, String error) {
    jdbc.sql(
            """
            update mining_state set status = 'failed', last_error = :error, updated_at = now(),
                   finished_at = now()
             where user_id = :user and stream = :stream and run_id = :run
            """)
        .param("error", error)
        .param("user", userId)
        .param("stream", stream)
        .param("run", runId)
        .update();
  }

  /** Chains claimed for a run whose first message could not be published. */
  public void releaseUnsent(String stream, UUID runId, List<Long> users, String error) {
    if (users.isEmpty()) {
      return;
    }
    jdbc.sql(
            """
            update mining_state set status = 'failed', last_error = :error, updated_at = now(),
                   finished_at = now()
             where stream = :stream and run_id = :run and user_id = any(:users)
            """)
        .param("error", "not scheduled: " + error)
        .param("stream", stream)
        .param("run", runId)
        .param("users", users.toArray(Long[]::new))
        .update();
  }

  /** A failed chain whose message came back (retry or replay) is in progress again. */
  public void resume(long userId, String stream, UUID runId) {
    jdbc.sql(
            """
            update mining_state set status = 'in_progress', finished_at = null, updated_at = now()
             where user_id = :user and stream = :stream and run_id = :run and status = 'failed'
            """)
        .param("user", userId)
        .param("stream", stream)
        .param("run", runId)
        .update();
  }

  public void flagReauthorization(long userId) {
    jdbc.sql("update app_user set needs_reauthorization = true, updated_at = now() where id = :id")
        .param("id", userId)
        .update();
  }
}
