FROM python:3.11-slim
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
ENV ENGAGE_HOST=0.0.0.0
CMD ["python", "app.py", "web"]
