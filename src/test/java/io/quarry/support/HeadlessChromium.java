package io.quarry.support;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import org.junit.jupiter.api.Assumptions;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * Debian's Chromium, headless, driven through its chromedriver, for the dashboard's browser tests.
 * Outside CI a machine without them skips the test; under {@code CI=true} it fails, because {@code
 * .ci/run} installs both.
 */
public final class HeadlessChromium {

  public static final String CHROMIUM = "/usr/bin/chromium";
  public static final String CHROMEDRIVER = "/usr/bin/chromedriver";

  /** Where the browser tests leave their screenshots. */
  public static final Path SCREENSHOTS = Path.of("target", "screenshots");

  private HeadlessChromium() {}

  /** A new browser with a profile of its own, 1440×1000. */
  public static ChromeDriver start() throws IOException {
    boolean installed = new File(CHROMIUM).canExecute() && new File(CHROMEDRIVER).canExecute();
    if (System.getenv("CI") == null) {
      Assumptions.assumeTrue(
          installed, "needs Debian's chromium and chromium-driver (apt-get install -y ...)");
    }
    assertThat(installed).as("chromium and chromedriver installed by .ci/run").isTrue();
    Files.createDirectories(SCREENSHOTS);
    ChromeOptions options = new ChromeOptions();
    options.setBinary(CHROMIUM);
    options.addArguments(
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1440,1000",
        "--user-data-dir=" + Files.createTempDirectory("quarry-chromium"));
    ChromeDriverService service =
        new ChromeDriverService.Builder()
            .usingDriverExecutable(new File(CHROMEDRIVER))
            .usingAnyFreePort()
            .build();
    return new ChromeDriver(service, options);
  }

  /**
   * Opens the dashboard, is sent to the login page and logs in. A login is a bcrypt check and a
   * page load: on a loaded 2-core machine it may take far longer than a page update.
   */
  public static void logIn(ChromeDriver browser, int port, String user, String password) {
    browser.get("http://127.0.0.1:" + port + "/dashboard");
    new WebDriverWait(browser, Duration.ofSeconds(15))
        .until(ExpectedConditions.urlContains("/login"));
    browser.findElement(By.id("username")).sendKeys(user);
    browser.findElement(By.id("password")).sendKeys(password);
    browser.findElement(By.cssSelector("button[type='submit']")).click();
    new WebDriverWait(browser, Duration.ofSeconds(60))
        .until(ExpectedConditions.urlContains("/dashboard/"));
  }

  /** Waits until an element is visible. */
  public static WebElement waitFor(ChromeDriver browser, By locator, Duration timeout) {
    return new WebDriverWait(browser, timeout)
        .until(ExpectedConditions.visibilityOfElementLocated(locator));
  }

  /** Scrolls an element to the middle of the window (a screenshot shows it, a click reaches it). */
  public static void scrollTo(ChromeDriver browser, WebElement element) {
    ((JavascriptExecutor) browser)
        .executeScript("arguments[0].scrollIntoView({block: 'center'});", element);
  }

  /** Saves what the browser shows as {@code target/screenshots/<name>.png}. */
  public static void screenshot(ChromeDriver browser, String name) throws IOException {
    Files.createDirectories(SCREENSHOTS);
    Files.copy(
        browser.getScreenshotAs(OutputType.FILE).toPath(),
        SCREENSHOTS.resolve(name + ".png"),
        StandardCopyOption.REPLACE_EXISTING);
  }
}
