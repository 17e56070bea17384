package io.quarry.notification;

import java.time.Duration;
import org.apache.camel.spi.IdempotentRepository;
import org.apache.camel.support.service.ServiceSupport;
import org.springframework.jdbc.core.simple.JdbcClient;

/**
 * An idempotent repository in PostgreSQL, shared by every instance and surviving restarts, that
 * remembers a message id only for a window: an id seen again within the window is a duplicate; once
 * the window has passed it is new again. {@link #add} decides in one statement, so two instances
 * receiving the same id at once cannot both accept it.
 */
public class WindowedIdempotentRepository extends ServiceSupport implements IdempotentRepository {

  private final JdbcClient jdbc;
  private final String processor;
  private final Duration window;

  public WindowedIdempotentRepository(JdbcClient jdbc, String processor, Duration window) {
    this.jdbc = jdbc;
    this.processor = processor;
    this.window = window;
  }

  /** True when the id is new or its last sighting is older than the window (and records it). */
  @Override
  public boolean add(String key) {
    return jdbc.sql(
                """
                insert into processed_message (processor, message_id, seen_at)
                values (:processor, :id, now())
                on conflict (processor, message_id) do update set seen_at = now()
                 where processed_message.seen_at < now() - make_interval(secs => :window)
                """)
            .param("processor", processor)
            .param("id", key)
            .param("window", window.toMillis() / 1000.0)
            .update()
        == 1;
  }

  @Override
  public boolean contains(String key) {
    return jdbc.sql(
            """
            select exists (select 1 from processed_message
                            where processor = :processor and message_id = :id
                              and seen_at >= now() - make_interval(secs => :window))
            """)
        .param("processor", processor)
        .param("id", key)
        .param("window", window.toMillis() / 1000.0)
        .query(Boolean.class)
        .single();
  }

  /** Forgets the id, so a message whose processing failed can be processed when redelivered. */
  @Override
  public boolean remove(String key) {
    return jdbc.sql(
                "delete from processed_message where processor = :processor and message_id = :id")
            .param("processor", processor)
            .param("id", key)
            .update()
        == 1;
  }

  @Override
  public boolean confirm(String key) {
    return true;
  }

  /** Deletes ids older than the window; they no longer decide anything. */
  public int expire() {
    return jdbc.sql(
            """
            delete from processed_message
             where processor = :processor and seen_at < now() - make_interval(secs => :window)
            """)
        .param("processor", processor)
        .param("window", window.toMillis() / 1000.0)
        .update();
  }

  @Override
  public void clear() {
    jdbc.sql("delete from processed_message where processor = :processor")
        .param("processor", processor)
        .update();
  }
}
