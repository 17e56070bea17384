package io.quarry.scheduling;

import static org.assertj.core.api.Assertions.assertThat;

import io.quarry.support.HeadlessChromium;
import io.quarry.support.QuarryIntegrationTest;
import java.io.IOException;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.simple.JdbcClient;

/**
 * The schedule parts of the dashboard (static/dashboard/schedule.js) in headless Chromium: an admin
 * edits a stream scheduler's cron and time zone on its row and sees the result without a reload, a
 * bad cron is refused with the reason, and a job the live instances disagree on carries a warning.
 * Screenshots go to {@code target/screenshots}.
 */
@QuarryIntegrationTest
class ScheduleBrowserIT {

  static final Duration LIVE = Duration.ofSeconds(15);

  static ChromeDriver browser;

  @LocalServerPort int port;
  @Autowired JdbcClient jdbc;

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

  @Test
  void anAdminEditsAScheduleOnTheJobRowAndSeesDisagreements() throws IOException {
    // Another live instance (checked in "in the future", so Quartz never recovers it) wants another
    // cron for the posts scheduler.
    jdbc.sql(
            "insert into qrtz_scheduler_state (sched_name, instance_name, last_checkin_time,"
                + " checkin_interval) values ('quarry', 'node-x', :at, 7500)")
        .param("at", System.currentTimeMillis() + 3_600_000)
        .update();
    jdbc.sql(
            "insert into job_schedule_config (job_name, instance_id, cron, time_zone, since)"
                + " values ('posts-scheduler', 'node-x', '0 7 * * * ?', 'UTC', now() - interval '1 day')")
        .update();
    try {
      logIn();
      WebElement posts =
          waitFor(By.cssSelector("#jobs-table tr[data-job='posts-scheduler'] .schedule-warning"));
      assertThat(posts.getText()).contains("instances disagree").contains("node-x: '0 7 * * * ?'");

      browser
          .findElement(
              By.cssSelector(
                  "#jobs-table tr[data-job='ads-scheduler'] [data-action='edit-schedule']"))
          .click();
      WebElement cron = waitFor(By.id("schedule-cron"));
      cron.clear();
      cron.sendKeys("0 0 25 * * ?");
      browser.findElement(By.cssSelector("[data-action='save-schedule']")).click();
      new WebDriverWait(browser, LIVE)
          .until(ExpectedConditions.textToBePresentInElementLocated(By.id("status"), "cron"));
      assertThat(browser.findElement(By.id("status")).getText())
          .contains("not changed")
          .contains("400");

      cron.clear();
      cron.sendKeys("0 15 4 1 1 ? 2098");
      WebElement zone = browser.findElement(By.id("schedule-zone"));
      zone.clear();
      zone.sendKeys("Europe/Berlin");
      browser.findElement(By.cssSelector("[data-action='save-schedule']")).click();

      new WebDriverWait(browser, LIVE)
          .until(
              ExpectedConditions.textToBePresentInElementLocated(
                  By.cssSelector("#jobs-table tr[data-job='ads-scheduler']"), "edited by admin"));
      String row =
          browser.findElement(By.cssSelector("#jobs-table tr[data-job='ads-scheduler']")).getText();
      assertThat(row).contains("0 15 4 1 1 ? 2098").contains("Europe/Berlin");
      screenshot();
    } finally {
      jdbc.sql("delete from qrtz_scheduler_state where instance_name = 'node-x'").update();
      jdbc.sql("delete from job_schedule_config where instance_id = 'node-x'").update();
    }
  }

  private void logIn() {
    HeadlessChromium.logIn(browser, port, "admin", "test-admin-password");
  }

  private static WebElement waitFor(By locator) {
    return HeadlessChromium.waitFor(browser, locator, LIVE);
  }

  private static void screenshot() throws IOException {
    HeadlessChromium.screenshot(browser, "ScheduleBrowserIT-edit");
  }
}
