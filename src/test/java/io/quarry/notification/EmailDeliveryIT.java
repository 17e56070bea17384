package io.quarry.notification;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.micrometer.core.instrument.MeterRegistry;
import io.quarry.support.Csrf;
import io.quarry.support.QuarryIntegrationTest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.UUID;
import org.apache.camel.ProducerTemplate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * The sender against a real SMTP conversation whose replies the test chooses: a 550 fails the mail
 * for good with the server's words, a 451 is retried later and counted, and a server that is off or
 * never answers costs no attempt, so an outage gives up nothing. The admin's bulk re-queue brings
 * every failed mail back and is audited; a viewer cannot use it.
 */
@QuarryIntegrationTest
class EmailDeliveryIT {

  private static final String EVENTS = "direct:notification-event";
  private static final int SMTP_PORT = freePort();
  private static final ScriptedSmtpServer smtp = new ScriptedSmtpServer(SMTP_PORT);

  @DynamicPropertySource
  static void smtpServer(DynamicPropertyRegistry registry) {
    smtp.start();
    registry.add("quarry.notification.smtp.host", () -> "127.0.0.1");
    registry.add("quarry.notification.smtp.port", () -> SMTP_PORT);
    registry.add("quarry.notification.smtp.timeout", () -> "1s");
    registry.add("quarry.notification.unreachable-retry", () -> "500ms");
  }

  @AfterAll
  static void stopSmtp() {
    smtp.close();
  }

  @Autowired JdbcClient jdbc;
  @Autowired EmailRepository emails;
  @Autowired MeterRegistry meters;
  @Autowired ProducerTemplate camel;
  @LocalServerPort int port;

  /** One row of the email table as the test reads it back. */
  record Row(
      String status,
      int attempts,
      String failureClass,
      Integer smtpCode,
      String lastError,
      OffsetDateTime nextAttemptAt) {}

  @BeforeEach
  void serverUpAndNoMail() {
    jdbc.sql("delete from email").update();
    smtp.silent(false);
    smtp.start();
  }

  @Test
  void a550FailsTheMailForGoodWithTheServersReplyAndTheResendEventLeavesItAlone() {
    smtp.reply("gone@example.com", "550 5.1.1 <gone@example.com>: Recipient address rejected");
    double before = failed("permanent");

    long id = emails.enqueue(null, "gone@example.com", "Digest", "Nobody reads this.");

    await()
        .atMost(Duration.ofSeconds(15))
        .untilAsserted(
            () -> {
              Row row = row(id);
              assertThat(row.status()).isEqualTo("failed");
              assertThat(row.failureClass()).isEqualTo("permanent");
              assertThat(row.smtpCode()).isEqualTo(550);
              assertThat(row.lastError())
                  .isEqualTo("550 5.1.1 <gone@example.com>: Recipient address rejected");
              assertThat(row.attempts()).isEqualTo(1);
            });
    assertThat(failed("permanent")).isEqualTo(before + 1);

    camel.sendBody(EVENTS, resendEvent());
    await()
        .during(Duration.ofSeconds(2))
        .atMost(Duration.ofSeconds(5))
        .until(() -> row(id), row -> row.status().equals("failed") && row.attempts() == 1);
  }

  @Test
  void a451IsRetriedLaterWithItsOwnReplyNotTheSameReasonAsA550() {
    smtp.reply("full@example.com", "451 4.2.2 <full@example.com>: Mailbox full, try later");
    double before = failed("transient");

    long id = emails.enqueue(null, "full@example.com", "Digest", "Later, please.");

    await()
        .atMost(Duration.ofSeconds(15))
        .untilAsserted(
            () -> {
              Row row = row(id);
              assertThat(row.status()).isEqualTo("pending");
              assertThat(row.failureClass()).isEqualTo("transient");
              assertThat(row.smtpCode()).isEqualTo(451);
              assertThat(row.lastError()).contains("451 4.2.2").contains("Mailbox full");
              assertThat(row.attempts()).isEqualTo(1);
              assertThat(row.nextAttemptAt())
                  .as("retried after the 5 minute backoff, not at once")
                  .isAfter(OffsetDateTime.now().plusMinutes(4));
            });
    assertThat(failed("transient")).isEqualTo(before + 1);
  }

  @Test
  void aClosedPortCostsNoAttemptAndTheMailGoesOutWhenTheServerIsBack() {
    smtp.stop();
    double before = failed("unreachable");
    long id = emails.enqueue(null, "later@example.com", "Digest", "After the outage.");

    await()
        .atMost(Duration.ofSeconds(15))
        .untilAsserted(
            () -> {
              Row row = row(id);
              assertThat(row.failureClass()).isEqualTo("unreachable");
              assertThat(row.lastError()).contains("Connection refused");
            });
    // Many tries during the outage, none of them counted.
    await().atMost(Duration.ofSeconds(15)).until(() -> failed("unreachable") >= before + 3);
    assertThat(row(id).attempts()).isZero();
    assertThat(row(id).status()).isIn("pending", "sending");

    smtp.start();
    await()
        .atMost(Duration.ofSeconds(15))
        .untilAsserted(
            () -> {
              Row row = row(id);
              assertThat(row.status()).isEqualTo("sent");
              assertThat(row.attempts()).isEqualTo(1);
              assertThat(row.failureClass()).isNull();
            });
    assertThat(smtp.delivered()).contains("later@example.com");
  }

  @Test
  void aServerThatNeverAnswersCostsNoAttemptEither() {
    smtp.silent(true);
    double before = failed("unreachable");
    long id = emails.enqueue(null, "quiet@example.com", "Digest", "Hello?");

    await()
        .atMost(Duration.ofSeconds(20))
        .untilAsserted(
            () -> {
              Row row = row(id);
              assertThat(row.failureClass()).isEqualTo("unreachable");
              assertThat(row.lastError()).containsIgnoringCase("timed out");
            });
    await().atMost(Duration.ofSeconds(20)).until(() -> failed("unreachable") >= before + 2);
    assertThat(row(id).attempts()).isZero();
    smtp.silent(false);
    await().atMost(Duration.ofSeconds(15)).until(() -> row(id).status().equals("sent"));
  }

  @Test
  void theAdminCanLeaveThePermanentFailuresOutOfARequeue() {
    long permanent = insertFailed("permanent", 550, 1);
    long exhausted = insertFailed("transient", 451, 5);

    var refused =
        Csrf.post(
            port, "/api/email/requeue-failed?permanent=maybe", "admin", "test-admin-password");
    assertThat(refused.statusCode()).isEqualTo(400);
    assertThat(refused.body()).contains("permanent");

    var response =
        Csrf.post(
            port, "/api/email/requeue-failed?permanent=false", "admin", "test-admin-password");
    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.body()).contains("\"requeued\":1");
    await()
        .atMost(Duration.ofSeconds(15))
        .untilAsserted(
            () -> assertThat(smtp.delivered()).contains("requeue-" + exhausted + "@example.com"));
    assertThat(row(permanent).status()).as("refused for good: left failed").isEqualTo("failed");
    assertThat(smtp.delivered()).doesNotContain("requeue-" + permanent + "@example.com");
    assertThat(
            jdbc.sql(
                    "select count(*) from email_action where action = 'requeue-transient'"
                        + " and actor = 'admin' and mails = 1")
                .query(Long.class)
                .single())
        .isEqualTo(1);
  }

  @Test
  void theAdminRequeuesEveryFailedMailAndIsAuditedAViewerIsRefused() {
    long permanent = insertFailed("permanent", 550, 1);
    long exhausted = insertFailed("transient", 451, 5);

    assertThat(
            Csrf.post(port, "/api/email/requeue-failed", "viewer", "test-viewer-password")
                .statusCode())
        .isEqualTo(403);
    assertThat(row(permanent).status()).isEqualTo("failed");

    var response = Csrf.post(port, "/api/email/requeue-failed", "admin", "test-admin-password");
    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.body()).contains("\"by\":\"admin\"");
    await()
        .atMost(Duration.ofSeconds(15))
        .untilAsserted(
            () -> {
              assertThat(smtp.delivered()).contains("requeue-" + permanent + "@example.com");
              assertThat(smtp.delivered()).contains("requeue-" + exhausted + "@example.com");
            });
    assertThat(row(exhausted).attempts()).isEqualTo(1);
    assertThat(
            jdbc.sql(
                    "select count(*) from email_action where action = 'requeue-failed'"
                        + " and actor = 'admin' and mails >= 2")
                .query(Long.class)
                .single())
        .isEqualTo(1);
    assertThat(
            jdbc.sql("select count(*) from email_action where actor = 'viewer'")
                .query(Long.class)
                .single())
        .isZero();
  }

  private long insertFailed(String failureClass, int code, int attempts) {
    long id =
        jdbc.sql(
                """
                insert into email (recipient, subject, body, status, attempts, failure_class,
                                   smtp_code, last_error)
                values ('placeholder', 'Digest', 'Body', 'failed', :attempts, :class, :code,
                        :code || ' refused earlier')
                returning id
                """)
            .param("attempts", attempts)
            .param("class", failureClass)
            .param("code", code)
            .query(Long.class)
            .single();
    jdbc.sql("update email set recipient = :to where id = :id")
        .param("to", "requeue-" + id + "@example.com")
        .param("id", id)
        .update();
    return id;
  }

  private double failed(String failureClass) {
    return meters.get("quarry.email.failed").tag("class", failureClass).counter().count();
  }

  private Row row(long id) {
    return jdbc.sql(
            """
            select status, attempts, failure_class, smtp_code, last_error, next_attempt_at
              from email where id = :id
            """)
        .param("id", id)
        .query(
            (rs, n) ->
                new Row(
                    rs.getString(1),
                    rs.getInt(2),
                    rs.getString(3),
                    (Integer) rs.getObject(4),
                    rs.getString(5),
                    rs.getObject(6, OffsetDateTime.class)))
        .single();
  }

  private static String resendEvent() {
    return """
        {"id":"%s","type":"ResendErrorEmailIntegrationEvent","occurredAt":"%s","payload":{}}"""
        .formatted(UUID.randomUUID(), Instant.now());
  }

  private static int freePort() {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
