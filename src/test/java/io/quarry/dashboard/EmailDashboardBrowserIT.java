package io.quarry.dashboard;

import static org.assertj.core.api.Assertions.assertThat;

import io.quarry.support.HeadlessChromium;
import io.quarry.support.QuarryIntegrationTest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * The dashboard's email section in a real headless Chromium: the mail counts per state, the failed
 * mails with the SMTP server's reply (a 550 and a 451 each with its own words), the admin's bulk
 * re-queue that empties the failed list and is audited, and a viewer who sees the mail but is
 * offered no re-queue and refused one. SMTP points at a closed port, so re-queued mail waits as
 * pending. Screenshots go to {@code target/screenshots}.
 */
@QuarryIntegrationTest
class EmailDashboardBrowserIT {

  static final Duration LIVE = Duration.ofSeconds(15);
  static final int CLOSED_PORT = closedPort();

  static ChromeDriver browser;

  @DynamicPropertySource
  static void unreachableSmtp(DynamicPropertyRegistry registry) {
    registry.add("quarry.notification.smtp.host", () -> "127.0.0.1");
    registry.add("quarry.notification.smtp.port", () -> CLOSED_PORT);
  }

  @LocalServerPort int port;
  @Autowired JdbcClient jdbc;

  private String testName;
  private long refused;
  private long deferred;

  @BeforeAll
  static void startBrowser() throws IOException {
    browser = HeadlessChromium.start();
  }

  @AfterAll
  static void stopBrowser() {
    if (browser != null) {
      browser.quit();
    }
  }

  @BeforeEach
  void twoFailedMails(TestInfo info) {
    testName = info.getTestMethod().orElseThrow().getName();
    browser.manage().deleteAllCookies();
    jdbc.sql("delete from email").update();
    jdbc.sql("delete from email_action").update(); // each test counts its own audit lines
    refused =
        insertFailed(
            "gone@example.com", "permanent", 550, "550 5.1.1 <gone@example.com>: user unknown", 1);
    deferred =
        insertFailed(
            "full@example.com", "transient", 451, "451 4.2.2 <full@example.com>: mailbox full", 5);
  }

  @AfterEach
  void lastScreenshot() throws IOException {
    screenshot("end");
  }

  @Test
  void anAdminSeesTheFailedMailsWithTheServersReplyAndRequeuesThem() throws IOException {
    logIn("admin", "test-admin-password");
    WebElement gone =
        waitFor(By.cssSelector("#email-failed-table tr[data-email='" + refused + "']"));
    WebElement full =
        waitFor(By.cssSelector("#email-failed-table tr[data-email='" + deferred + "']"));
    scrollTo(gone);
    assertThat(gone.getText())
        .contains("gone@example.com")
        .contains("permanent")
        .contains("550 5.1.1 <gone@example.com>: user unknown");
    assertThat(full.getText())
        .contains("transient")
        .contains("451 4.2.2 <full@example.com>: mailbox full");
    new WebDriverWait(browser, LIVE)
        .until(ExpectedConditions.textToBe(By.id("email-count-failed"), "2"));
    screenshot("failed");

    // First the mails worth another try: the one refused for good stays.
    WebElement transientOnly = browser.findElement(By.id("email-requeue-transient"));
    assertThat(transientOnly.isDisplayed()).isTrue();
    transientOnly.click();
    browser.switchTo().alert().accept();
    new WebDriverWait(browser, LIVE)
        .until(
            ExpectedConditions.numberOfElementsToBe(
                By.cssSelector("#email-failed-table tr[data-email]"), 1));
    new WebDriverWait(browser, LIVE)
        .until(ExpectedConditions.textToBe(By.id("email-count-failed"), "1"));
    assertThat(browser.findElements(By.cssSelector("tr[data-email='" + refused + "']"))).hasSize(1);
    assertThat(browser.findElement(By.id("status")).getText())
        .contains("Re-queued 1 failed mails, permanent ones left");
    screenshot("transient-requeued");

    WebElement requeue = browser.findElement(By.id("email-requeue"));
    assertThat(requeue.isDisplayed()).isTrue();
    requeue.click();
    browser.switchTo().alert().accept();

    new WebDriverWait(browser, LIVE)
        .until(
            ExpectedConditions.numberOfElementsToBe(
                By.cssSelector("#email-failed-table tr[data-email]"), 0));
    new WebDriverWait(browser, LIVE)
        .until(ExpectedConditions.textToBe(By.id("email-count-failed"), "0"));
    assertThat(browser.findElement(By.id("status")).getText()).contains("Re-queued 1 failed mails");
    assertThat(
            jdbc.sql("select count(*) from email where status in ('pending', 'sending')")
                .query(Long.class)
                .single())
        .isEqualTo(2);
    assertThat(
            jdbc.sql(
                    "select action || ' ' || mails from email_action where actor = 'admin'"
                        + " order by id")
                .query(String.class)
                .list())
        .containsExactly("requeue-transient 1", "requeue-failed 1");
    screenshot("requeued");
  }

  @Test
  void aViewerSeesTheFailedMailsButIsNeitherOfferedNorAllowedARequeue() {
    logIn("viewer", "test-viewer-password");
    WebElement gone =
        waitFor(By.cssSelector("#email-failed-table tr[data-email='" + refused + "']"));
    assertThat(gone.getText()).contains("550 5.1.1 <gone@example.com>: user unknown");
    assertThat(browser.findElement(By.id("email-requeue")).isDisplayed()).isFalse();

    Object status =
        ((JavascriptExecutor) browser)
            .executeAsyncScript(
                """
                const done = arguments[arguments.length - 1];
                const token = document.cookie.split('; ').find(c => c.startsWith('XSRF-TOKEN='))
                  .substring('XSRF-TOKEN='.length);
                fetch('/api/email/requeue-failed', {method: 'POST',
                    headers: {'X-XSRF-TOKEN': decodeURIComponent(token)}})
                  .then(r => done(r.status), e => done(String(e)));
                """);
    assertThat(status).as("the API refuses the viewer even with a CSRF token").isEqualTo(403L);
    assertThat(
            jdbc.sql("select count(*) from email where status = 'failed'")
                .query(Long.class)
                .single())
        .isEqualTo(2);
    assertThat(jdbc.sql("select count(*) from email_action").query(Long.class).single()).isZero();
  }

  private long insertFailed(
      String recipient, String failureClass, int code, String reply, int attempts) {
    return jdbc.sql(
            """
            insert into email (recipient, subject, body, status, attempts, failure_class,
                               smtp_code, last_error)
            values (:to, 'Your digest', 'Body', 'failed', :attempts, :class, :code, :reply)
            returning id
            """)
        .param("to", recipient)
        .param("attempts", attempts)
        .param("class", failureClass)
        .param("code", code)
        .param("reply", reply)
        .query(Long.class)
        .single();
  }

  private void logIn(String user, String password) {
    HeadlessChromium.logIn(browser, port, user, password);
  }

  private static void scrollTo(WebElement element) {
    HeadlessChromium.scrollTo(browser, element);
  }

  private static WebElement waitFor(By locator) {
    return HeadlessChromium.waitFor(browser, locator, LIVE);
  }

  private void screenshot(String step) throws IOException {
    HeadlessChromium.screenshot(browser, "EmailDashboardBrowserIT-" + testName + "-" + step);
  }

  private static int closedPort() {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
