package io.quarry.dashboard;

import static org.assertj.core.api.Assertions.assertThat;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.GetResponse;
import io.quarry.deadletter.DeadLetterRepository;
import io.quarry.support.HeadlessChromium;
import io.quarry.support.QuarryIntegrationTest;
import io.quarry.support.Services;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
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
import org.springframework.core.env.Environment;
import org.springframework.jdbc.core.simple.JdbcClient;

/**
 * The dashboard in a real headless Chromium (Debian's chromium and chromedriver): log in, see the
 * jobs, run one and watch its execution appear without a reload, replay a parked dead letter and
 * watch it leave the list, a read-only user who is offered no action and refused one, Hawtio's
 * Camel view listing Quarry's routes and its diagram of a miner route with its endpoint steps; the
 * statistics chart, the runs under way with their instance, a run's effect and the retry of a
 * failed run. Screenshots go to {@code target/screenshots}.
 */
@QuarryIntegrationTest
class DashboardBrowserIT {

  static final Duration LIVE = Duration.ofSeconds(15);

  static ChromeDriver browser;

  @LocalServerPort int port;
  @Autowired JdbcClient jdbc;
  @Autowired Environment environment;
  @Autowired DeadLetterRepository deadLetters;

  private String testName;

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
  void freshSession(TestInfo info) {
    testName = info.getTestMethod().orElseThrow().getName();
    browser.manage().deleteAllCookies(); // of the page's site: before leaving it
    // Then leave the previous test's dashboard: its polling, refused without the cookies, would
    // send the browser to the login page again in the middle of the next log-in.
    browser.get("about:blank");
  }

  @AfterEach
  void lastScreenshot() throws IOException {
    screenshot("end");
  }

  @Test
  void anAdminRunsAJobAndWatchesItsExecutionAppearWithoutReloading() throws IOException {
    logIn("admin", "test-admin-password");
    WebElement job = waitFor(By.cssSelector("#jobs-table tr[data-job='CleanUpSentEmailJob']"));
    assertThat(job.getText()).contains("CleanUpSentEmailJob").contains("0 0 0 1 1 ? 2099");
    assertThat(browser.findElements(By.cssSelector("#jobs-table tr[data-job$='-scheduler']")))
        .hasSize(3);
    assertThat(text("#who")).contains("admin (admin)");
    String env = environment.getProperty("quarry.environment");
    WebElement queue =
        waitFor(By.cssSelector("#queues-table tr[data-queue='posts-mining-queue-" + env + "']"));
    assertThat(browser.findElements(By.cssSelector("#queues-table tr[data-queue*='.dlq-']")))
        .as("a dead-letter queue is shown in its work queue's row")
        .isEmpty();
    screenshot("jobs");
    scrollTo(queue);
    screenshot("pipeline");

    By execution =
        By.cssSelector(
            "#history-table tr[data-name='CleanUpSentEmailJob'][data-outcome='succeeded']");
    assertThat(browser.findElements(execution)).isEmpty();
    ((JavascriptExecutor) browser).executeScript("window.quarryNotReloaded = true;");

    WebElement runNow = job.findElement(By.cssSelector("button[data-action='run-now']"));
    scrollTo(runNow);
    runNow.click();

    WebElement row = new WebDriverWait(browser, LIVE).until(d -> first(d.findElements(execution)));
    scrollTo(row);
    assertThat(row.getText()).contains("manual by admin");
    assertThat(((JavascriptExecutor) browser).executeScript("return window.quarryNotReloaded;"))
        .as("the execution appeared by polling, not by a reload")
        .isEqualTo(true);
    assertThat(text("#status")).contains("Triggered CleanUpSentEmailJob");
    assertThat(
            jdbc.sql(
                    "select count(*) from job_action where job_name = 'CleanUpSentEmailJob'"
                        + " and action = 'trigger' and actor = 'admin'")
                .query(Long.class)
                .single())
        .isEqualTo(1);
    screenshot("execution");
  }

  @Test
  void anAdminReplaysAParkedDeadLetterAndItLeavesTheList() throws Exception {
    String queue = "browser-replay-" + environment.getProperty("quarry.environment");
    long id;
    try (var connection = Services.from(environment).amqp();
        Channel channel = connection.createChannel()) {
      channel.queueDeclare(queue, true, false, false, Map.of());
      id =
          deadLetters.park(
              queue,
              null,
              "{}",
              "application/json",
              null,
              "{\"stream\":\"posts\"}".getBytes(StandardCharsets.UTF_8),
              "malformed mining message: missing userId",
              "io.quarry.message.InvalidMessageException",
              "posts-miner",
              1,
              true);

      logIn("admin", "test-admin-password");
      By parked = By.cssSelector("#dead-letters-table tr[data-dead-letter='" + id + "']");
      WebElement row = waitFor(parked);
      assertThat(row.getText()).contains("missing userId").contains("{\"stream\":\"posts\"}");
      new WebDriverWait(browser, LIVE)
          .until(ExpectedConditions.textToBe(By.id("dl-range"), "1–1 of 1"));
      assertThat(browser.findElement(By.id("dl-older")).isEnabled()).isFalse();
      scrollTo(row);
      screenshot("dead-letter");

      WebElement replay = row.findElement(By.cssSelector("button[data-action='replay']"));
      scrollTo(replay);
      replay.click();

      new WebDriverWait(browser, LIVE).until(ExpectedConditions.numberOfElementsToBe(parked, 0));
      GetResponse replayed = channel.basicGet(queue, true);
      assertThat(replayed).as("the replayed message is back on its queue").isNotNull();
      assertThat(new String(replayed.getBody(), StandardCharsets.UTF_8))
          .isEqualTo("{\"stream\":\"posts\"}");
      assertThat(
              jdbc.sql(
                      "select handled_by from dead_letter where id = :id and replayed_at is not null")
                  .param("id", id)
                  .query(String.class)
                  .single())
          .isEqualTo("admin");
    }
  }

  @Test
  void aReadOnlyUserSeesTheJobsButCannotRunThem() {
    logIn("viewer", "test-viewer-password");
    WebElement job = waitFor(By.cssSelector("#jobs-table tr[data-job='ResendErrorEmailJob']"));
    assertThat(text("#who")).contains("viewer (read-only)");
    assertThat(job.findElements(By.tagName("button"))).as("no action offered").isEmpty();
    assertThat(browser.findElements(By.id("dl-replay-selected")).get(0).isDisplayed()).isFalse();
    assertThat(browser.findElement(By.id("hawtio-link")).isDisplayed()).isFalse();

    Object status =
        ((JavascriptExecutor) browser)
            .executeAsyncScript(
                """
                const done = arguments[arguments.length - 1];
                const token = document.cookie.split('; ').find(c => c.startsWith('XSRF-TOKEN='))
                  .substring('XSRF-TOKEN='.length);
                fetch('/api/jobs/ResendErrorEmailJob/trigger', {method: 'POST',
                    headers: {'X-XSRF-TOKEN': decodeURIComponent(token)}})
                  .then(r => done(r.status), e => done(String(e)));
                """);
    assertThat(status)
        .as("the API refuses the viewer even with a valid CSRF token")
        .isEqualTo(403L);
    assertThat(
            jdbc.sql("select count(*) from job_action where actor = 'viewer'")
                .query(Long.class)
                .single())
        .isZero();
  }

  @Test
  void anAdminSeesQuarrysCamelRoutesInHawtioThroughTheRestrictedJolokia() throws IOException {
    logIn("admin", "test-admin-password");
    browser.get("http://127.0.0.1:" + port + "/actuator/hawtio/camel/routes");
    // Hawtio's tree and route list come from Jolokia reads and searches: the route ids appear only
    // if the access policy lets Hawtio's own requests through.
    new WebDriverWait(browser, Duration.ofSeconds(60))
        .until(d -> d.getPageSource().contains("posts-miner-pages"));
    // The routes table: each route's state, read through Jolokia.
    new WebDriverWait(browser, Duration.ofSeconds(60))
        .until(d -> !d.findElements(By.xpath("//td[contains(., 'Started')]")).isEmpty());
    screenshot("hawtio-routes");
    assertThat(browser.getPageSource())
        .contains("posts-scheduler-tick")
        .contains("dead-letter-retry");
  }

  @Test
  void hawtiosDiagramOfAMinerRouteNamesItsBrokerEndpoints() throws IOException {
    logIn("admin", "test-admin-password");
    browser.get("http://127.0.0.1:" + port + "/actuator/hawtio/camel/routes");
    WebElement route =
        new WebDriverWait(browser, Duration.ofSeconds(60))
            .until(
                d ->
                    first(
                        d.findElements(
                            By.xpath("//*[normalize-space(text())='posts-miner-pages']"))));
    scrollTo(route);
    route.click();
    WebElement diagramTab =
        new WebDriverWait(browser, Duration.ofSeconds(60))
            .until(
                d ->
                    first(
                        d.findElements(
                            By.xpath(
                                "//button[normalize-space(.)='Route Diagram']"
                                    + " | //a[normalize-space(.)='Route Diagram']"))));
    diagramTab.click();
    // The diagram's nodes are the route's steps, named by their ids; the publishing steps are "To"
    // nodes labelled with their quarry-amqp endpoint.
    new WebDriverWait(browser, Duration.ofSeconds(60))
        .until(d -> d.getPageSource().contains("posts-publish-continuation"));
    screenshot("hawtio-miner-diagram");
    String diagram = browser.getPageSource();
    assertThat(diagram)
        .contains("posts-load-chain")
        .contains("posts-fetch-page")
        .contains("posts-publish-data-batch")
        .contains("posts-publish-delayed-continuation")
        .contains("To quarry-amqp")
        .contains("Choice")
        .contains("Loop");
  }

  @Test
  void anAdminSeesStatisticsRunningRunsAndEffectsAndRetriesAFailedRun() throws IOException {
    long failed = execution("failed", "node-a", "5 minutes", null);
    long handled = execution("succeeded", "node-a", "3 minutes", "2,503 mails deleted");
    long running = execution("running", "node-b", "1 minute", null);
    try {
      logIn("admin", "test-admin-password");
      assertThat(text("#timezone")).startsWith("times in ").contains("(UTC");

      WebElement now =
          waitFor(By.cssSelector("#running-table tr[data-running='job:" + running + "']"));
      assertThat(now.getText()).contains("ResendErrorEmailJob").contains("node-b");
      scrollTo(now);
      screenshot("running-now");

      WebElement effect =
          waitFor(By.cssSelector("#history-table tr[data-history='job:" + handled + "']"));
      assertThat(effect.getText()).contains("2,503 mails deleted").contains("node-a");
      assertThat(effect.findElement(By.tagName("td")).getText())
          .as("a time with its offset")
          .matches("\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d [+-]\\d\\d:\\d\\d");

      WebElement stats =
          waitFor(By.cssSelector("#stats-table tr[data-stats='ResendErrorEmailJob']"));
      assertThat(stats.getText()).contains("50.0 %");
      List<WebElement> buckets =
          browser.findElements(By.cssSelector("#stats-chart g.bucket[data-runs]"));
      assertThat(buckets).hasSizeGreaterThan(24);
      assertThat(
              buckets.stream().mapToInt(b -> Integer.parseInt(b.getAttribute("data-runs"))).sum())
          .isGreaterThanOrEqualTo(3);
      assertThat(browser.findElements(By.cssSelector("#stats-chart rect.bar-failed"))).isNotEmpty();
      scrollTo(browser.findElement(By.id("stats-chart")));
      screenshot("statistics");

      WebElement failedRow =
          waitFor(By.cssSelector("#history-table tr[data-history='job:" + failed + "']"));
      WebElement retry = failedRow.findElement(By.cssSelector("button[data-action='retry']"));
      scrollTo(retry);
      retry.click();
      WebElement retried =
          new WebDriverWait(browser, LIVE)
              .until(
                  d ->
                      first(
                          d.findElements(
                              By.xpath(
                                  "//table[@id='history-table']//tr[contains(., 'retry of #"
                                      + failed
                                      + "')]"))));
      assertThat(retried.getText()).contains("manual by admin");
      assertThat(text("#status")).contains("Retrying ResendErrorEmailJob run #" + failed);
      assertThat(
              jdbc.sql(
                      "select count(*) from job_execution where retry_of = :id"
                          + " and triggered_by = 'admin'")
                  .param("id", failed)
                  .query(Long.class)
                  .single())
          .isEqualTo(1);
      scrollTo(retried);
      screenshot("retried");
    } finally {
      jdbc.sql("delete from job_execution where job_name = 'ResendErrorEmailJob'").update();
      jdbc.sql("delete from job_action where job_name = 'ResendErrorEmailJob'").update();
    }
  }

  private long execution(String outcome, String instance, String ago, String effect) {
    return jdbc.sql(
            """
            insert into job_execution (job_name, instance_id, fired_at, started_at, finished_at,
                                       outcome, error_message, effect)
            values ('ResendErrorEmailJob', :instance, now() - cast(:ago as interval),
                    now() - cast(:ago as interval),
                    case when :outcome = 'running' then null
                         else now() - cast(:ago as interval) + interval '2 seconds' end,
                    :outcome, case when :outcome = 'failed' then 'SMTP server down' end, :effect)
            returning id
            """)
        .param("instance", instance)
        .param("ago", ago)
        .param("outcome", outcome)
        .param("effect", effect)
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

  private static WebElement first(List<WebElement> elements) {
    return elements.isEmpty() ? null : elements.get(0);
  }

  private static String text(String css) {
    return browser.findElement(By.cssSelector(css)).getText();
  }

  private void screenshot(String step) throws IOException {
    HeadlessChromium.screenshot(browser, "DashboardBrowserIT-" + testName + "-" + step);
  }
}
