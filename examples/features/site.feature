# The quickstart's own web site, watched as a visitor sees it.
# Run it by hand: bartleby watch run examples/features -c examples/quickstart.toml
@warn=500ms
Feature: Quickstart site

  Scenario: The home page answers over HTTPS
    Given I go to /
    Then the response status should be 200
    And the step should take less than 1s
    And I should see "It works."
    And I should not see "Internal Server Error"
    And the header "Content-Type" should contain "text/html"
    And the certificate should be valid for at least 14 days

  Scenario Outline: Missing pages are a clean 404
    When I go to <page>
    Then I should get a 404

    Examples:
      | page               |
      | /no-such-page.html |
      | /wp-login.php      |
